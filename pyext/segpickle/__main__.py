"""The `segpickle` command (console script, or python -m segpickle): runs
the Go CLI shipped inside the package (encode, reencode, dis, json,
echo-server), so that a pip-installed package needs no checkout."""
import os
import sys

from ._paths import cli_path


def main() -> None:
    """Replaces this process with the Go CLI, arguments passed through."""
    path = cli_path()
    if path is None:
        sys.stderr.write("segpickle: the Go CLI is not installed with this package (run `make build` in a "
                         "checkout, or set SEGPICKLE_BIN)\n")
        sys.exit(2)
    os.execv(path, [path] + sys.argv[1:])


if __name__ == "__main__":
    main()
