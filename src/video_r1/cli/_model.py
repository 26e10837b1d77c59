"""The model path of every command, checked before any Hugging Face call.

:func:`check_model` runs :func:`video_r1.models.qwen2_5_vl.check_model_path` after two cheap checks of its
own, so that a wrong path ends as one line within a second instead of minutes of Hub retries:

* ``runs/nope`` looks like a Hub id (``owner/name``), but when ``runs/`` exists here it is a local path
  that is missing, and is reported as such;
* a name that is neither a folder nor a file here is looked up on the Hub only when the Hub answers: when
  ``HF_HUB_OFFLINE`` is not set and a connection to its endpoint fails within a few seconds, downloads are
  switched off for this process (``HF_HUB_OFFLINE=1``) and the id is read from the local cache only.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from urllib.parse import urlsplit

from video_r1.errors import ModelPathError

#: Seconds to wait for the Hub's endpoint before treating it as unreachable.
HUB_PROBE_TIMEOUT = 3.0
#: Files of which a checkpoint's processor needs one.
PROCESSOR_FILES = ("preprocessor_config.json", "processor_config.json")
_TRUE = ("1", "true", "yes", "on")


def hub_offline() -> bool:
    """Downloads are switched off (``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE``)."""
    return any(
        os.environ.get(name, "").lower() in _TRUE for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def hub_reachable(timeout: float = HUB_PROBE_TIMEOUT) -> bool:
    """A TCP connection to the Hub endpoint (``HF_ENDPOINT``, default huggingface.co:443) opens in time."""
    url = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = url.port or (80 if url.scheme == "http" else 443)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def hub_cache() -> Path:
    """Hugging Face's model cache folder (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ~/.cache/huggingface/hub)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface"
    )
    return Path(home).expanduser() / "hub"


def go_offline() -> None:
    """Switch Hugging Face downloads off for this process (also when huggingface_hub is imported already)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None:
        constants.HF_HUB_OFFLINE = True


def _local_missing(name: str) -> str | None:
    """Why ``name``, which does not exist, is a missing local path rather than a Hub id (or ``None``)."""
    parts = name.split("/")
    if len(parts) == 2 and parts[0] and Path(parts[0]).expanduser().is_dir():
        return f"{name}: no such folder ({parts[0]}/ exists here, {parts[1]} does not)"
    return None


def quick_check(name: str) -> None:
    """What can be told about a model path without torch or transformers (``video-r1`` runs it before the
    command's settings are parsed, so a wrong path fails in a fraction of a second): a missing local folder,
    a file, a folder that is neither a checkpoint nor an adapter, a checkpoint without processor files. The
    rest (the model type, an adapter's base, Hub ids) is :func:`check_model`'s, after parsing."""
    path = Path(name).expanduser()
    if not path.exists():
        if name.startswith((".", "/", "~")) or name.count("/") != 1:
            raise ModelPathError(
                f"{name}: no such folder (a model path must be a checkpoint folder or a Hub id)"
            )
        missing = _local_missing(name)
        if missing:
            raise ModelPathError(missing)
        offline = hub_offline()
        if not offline and hub_reachable():
            return  # the Hub answers: check_model asks it after the parse
        if not offline:
            go_offline()
        cache = hub_cache()
        if not (cache / f"models--{name.replace('/', '--')}").is_dir():
            why = "downloads are off (HF_HUB_OFFLINE)" if offline else "the Hub does not answer"
            raise ModelPathError(
                f"{name}: no local folder of that name, {why} and the Hugging Face cache ({cache}) has no such "
                "model: pass a checkpoint folder, or download the model first where the Hub is reachable"
            )
        return
    if not path.is_dir():
        raise ModelPathError(f"{name} is a file; pass the checkpoint folder (the one with config.json)")
    if (path / "config.json").is_file():
        try:
            model_type = json.loads((path / "config.json").read_text(encoding="utf-8")).get("model_type")
        except (OSError, ValueError, AttributeError):
            return  # check_model_path names what is wrong with the config
        if model_type == "qwen2_5_vl" and not any((path / f).is_file() for f in PROCESSOR_FILES):
            raise ModelPathError(
                f"{path} has a model config but no processor files ({' or '.join(PROCESSOR_FILES)}): "
                "not a complete checkpoint (save the processor beside the model)"
            )
    elif not (path / "adapter_config.json").is_file():
        raise ModelPathError(f"{name} is a folder without config.json: not a model checkpoint")


def check_model(name: str | os.PathLike[str] | None, flag: str = "--model_name_or_path") -> None:
    """Refuse a model path that cannot be loaded, in one line, before transformers or the Hub are asked."""
    from video_r1.models.qwen2_5_vl import check_model_path, processor_path

    if not name:
        raise ModelPathError(f"{flag} is required")
    name = os.fspath(name)
    path = Path(name).expanduser()
    if not path.exists():
        missing = _local_missing(name)
        if missing:
            raise ModelPathError(missing)
        if not hub_offline() and not hub_reachable():
            go_offline()
    check_model_path(name)
    if path.is_dir():
        processor = Path(processor_path(name))  # the folder, or an adapter's base model
        if processor.is_dir() and not any((processor / f).is_file() for f in PROCESSOR_FILES):
            raise ModelPathError(
                f"{processor} has a model config but no processor files ({' or '.join(PROCESSOR_FILES)}): "
                "not a complete checkpoint (save the processor beside the model)"
            )
