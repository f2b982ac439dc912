"""`python -m notifications.sender`: send the queued emails until SIGTERM or SIGINT."""

from notifications.sender.app import main

main()
