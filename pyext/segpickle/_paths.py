"""Where the native pieces are: the shared library and the Go CLI (whose
echo-server the demo and Channel peers use). An installed package carries
both; a checkout has them where `make build` puts them."""
import os
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))


def cli_path() -> Optional[str]:
    """The Go CLI: SEGPICKLE_BIN, else the one inside the package (pip
    install), else a checkout's bin/segpickle, else None."""
    env = os.environ.get("SEGPICKLE_BIN")
    if env:
        return env
    for path in (os.path.join(HERE, "bin", "segpickle"),
                 os.path.normpath(os.path.join(HERE, "..", "..", "bin", "segpickle"))):
        if os.access(path, os.X_OK):
            return path
    return None  # not PATH: its `segpickle` may be this package's own console script
