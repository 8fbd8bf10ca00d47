"""``python -m aebench.publish``, the documented command: the code is :mod:`aebench.runctl.publish`.
This stub only forwards, so the command stays what README and the docs show."""

from .runctl.publish import main

if __name__ == "__main__":
    raise SystemExit(main())
