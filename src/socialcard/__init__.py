"""socialcard: the Yongzhou social security card (citizen card) comprehensive application platform.

永州市社会保障卡（市民卡）综合应用平台. Business areas live in sub-packages (see
docs/architecture.md); entry points are api/, web/, jobs/ and cli/. Nothing here runs at import
time: the composition root is socialcard.bootstrap.
"""

__version__ = "0.1.0"
