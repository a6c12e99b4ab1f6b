"""The approval flow engine (审批流程, DESIGN §4): per tenant and record type a tree of
approver, condition, CC, automation and end nodes (``tree``), designed as a draft and published
as immutable versions (``definitions``); instances run on the version they started with
(``engine``), people act on them (``actions``), deadlines are enforced by a periodic job
(``deadlines``, in working time: ``workdays``), and each user's inbox lists what concerns them
(``inbox``)."""
