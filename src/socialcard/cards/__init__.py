"""Social security cards (社会保障卡): one card per resident, from application to its end.

Owns: the card lifecycle with its one transition table and event history (apply, collect data,
produce in batches with the card factory and the partner bank, issue, activate, loss reports,
reissue, replacement, cancellation), card numbers, the social-security PIN, the bank-account link
and its activation, electronic-card QR tokens, the on-card data areas, and the card-use door
`present_card` that every business area goes through. Must not: know what an item does once the
card is accepted, or speak HTTP.
"""
