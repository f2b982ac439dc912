"""The SMTP sender of the notifications service: `python -m notifications.sender`.

A plain asyncio process, never imported by the nameko service (nor the other way round).
"""
