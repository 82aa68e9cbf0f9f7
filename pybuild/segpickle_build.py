"""The PEP 517 build backend named in pyproject.toml: setuptools'
(setuptools.build_meta), with one addition. Building a wheel with
setuptools < 70 needs the `wheel` package; where it is missing (a bare
python3 with no package index), the wheel is assembled here from
setuptools' own build output instead of failing with "invalid command
'bdist_wheel'"."""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

from setuptools import build_meta as _st
from setuptools.build_meta import *  # noqa: F401,F403 (every hook setuptools offers)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _have_wheel() -> bool:
    try:
        import wheel.bdist_wheel  # noqa: F401
    except ImportError:
        return False
    return True


def get_requires_for_build_wheel(config_settings=None):
    return [r for r in _st.get_requires_for_build_wheel(config_settings) if _have_wheel() or r != "wheel"]


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    if _have_wheel():
        return _st.prepare_metadata_for_build_wheel(metadata_directory, config_settings)
    return _write_dist_info(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    if _have_wheel():
        return _st.build_wheel(wheel_directory, config_settings, metadata_directory)
    return _build_wheel_without_wheel(wheel_directory)


def _setup(*args, cwd=ROOT):
    subprocess.check_call([sys.executable, os.path.join(ROOT, "setup.py"), "-q"] + list(args), cwd=cwd)


def _write_dist_info(directory: str) -> str:
    """Writes NAME-VERSION.dist-info (METADATA, entry_points.txt) from
    setuptools' egg_info; returns its name."""
    with tempfile.TemporaryDirectory() as tmp:
        _setup("egg_info", "--egg-base", tmp)
        (egg,) = [d for d in os.listdir(tmp) if d.endswith(".egg-info")]
        src = os.path.join(tmp, egg)
        with open(os.path.join(src, "PKG-INFO")) as f:
            meta = f.read()
        fields = dict(line.split(": ", 1) for line in meta.splitlines() if ": " in line and not line[0].isspace())
        name, version = fields["Name"].replace("-", "_"), fields["Version"]
        dist_info = "%s-%s.dist-info" % (name, version)
        out = os.path.join(directory, dist_info)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "METADATA"), "w") as f:
            f.write(meta)
        ep = os.path.join(src, "entry_points.txt")
        if os.path.exists(ep):
            shutil.copy(ep, os.path.join(out, "entry_points.txt"))
    return dist_info


def _platform_tag() -> str:
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _build_wheel_without_wheel(wheel_directory: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        lib_dir = os.path.join(tmp, "lib")
        _setup("build_py", "--build-lib", lib_dir)
        dist_info = _write_dist_info(lib_dir)
        with open(os.path.join(lib_dir, dist_info, "WHEEL"), "w") as f:
            f.write("Wheel-Version: 1.0\nGenerator: segpickle_build\nRoot-Is-Purelib: false\n"
                    "Tag: py3-none-%s\n" % _platform_tag())
        name_version = dist_info[:-len(".dist-info")]
        wheel_name = "%s-py3-none-%s.whl" % (name_version, _platform_tag())
        record_name = dist_info + "/RECORD"
        records = []
        path = os.path.join(wheel_directory, wheel_name)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for dirpath, _dirs, files in sorted(os.walk(lib_dir)):
                for fn in sorted(files):
                    full = os.path.join(dirpath, fn)
                    arc = os.path.relpath(full, lib_dir).replace(os.sep, "/")
                    if arc == record_name or "__pycache__" in arc:
                        continue
                    with open(full, "rb") as f:
                        data = f.read()
                    info = zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0))
                    info.external_attr = (os.stat(full).st_mode & 0o777 | 0o100000) << 16
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, data)
                    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                    records.append("%s,sha256=%s,%d" % (arc, digest, len(data)))
            records.append(record_name + ",,")
            zf.writestr(record_name, "\n".join(records) + "\n")
    return wheel_name
