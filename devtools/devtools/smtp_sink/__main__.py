import sys

from devtools.smtp_sink.cli import main

sys.exit(main())
