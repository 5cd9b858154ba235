"""Social insurance: the five schemes, enrolment, contribution declarations and records, the
personal accounts kept in the ledger, relation transfers and the documents printed from them."""
