#!/usr/bin/env bash
# Install-and-smoke under the other supported Pythons (3.12, 3.13), run by .ci/run after the main suite.
#
#   bash scripts/py_smoke.sh            # every one of python3.12 / python3.13 found (PATH or pyenv)
#   bash scripts/py_smoke.sh 3.13       # that version only
#
# Cheap on purpose (about a minute per version, no torch): a fresh venv in a temporary folder, the pinned
# pure-Python test needs of requirements.txt, `pip install -e .` (requires-python must admit the version),
# `video-r1 --help`, `video-r1 eval --help` and a usage error (the torch-free CLI path), and the tests that
# need no torch (rewards, prompts, the package's import layers, resumable files). The full stack (torch,
# transformers, TRL) is tested under the Python of setup.sh; its pinned wheels exist for 3.11 to 3.13.
# A version that is not installed is skipped with a line saying so.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
versions=("$@")
if [ ${#versions[@]} -eq 0 ]; then versions=(3.12 3.13); fi
pins=$(grep -E '^(pyyaml|pytest|hypothesis|rouge-score|nltk|rapidfuzz|jiwer|tqdm)==' requirements.txt)
tests=(tests/rewards/test_accuracy_reward.py tests/rewards/test_format_reward.py tests/rewards/test_reward_registry.py
  tests/test_prompts.py tests/test_architecture.py tests/test_resumable.py)

find_python() {
  local candidate
  for candidate in "python$1" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$1".*/bin/"python$1"; do
    if "$candidate" --version >/dev/null 2>&1; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

for version in "${versions[@]}"; do
  if ! python=$(find_python "$version"); then
    echo "[py-smoke] skipped: no Python $version on this machine"
    continue
  fi
  venv=$(mktemp -d "${TMPDIR:-/tmp}/video-r1-py$version.XXXXXX")
  trap 'rm -rf "$venv"' EXIT
  echo "[py-smoke] $("$python" --version) ($python): install + torch-free tests"
  "$python" -m venv "$venv"
  # shellcheck disable=SC2086  # one pin per word
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "setuptools==80.9.0" "wheel==0.45.1" $pins
  "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
  "$venv/bin/video-r1" --help >/dev/null
  # to a file, not a pipe: grep -q closes a pipe at its first match and the command then ends with 141
  # (SIGPIPE's code, what video-r1 returns when its reader goes away), which pipefail would count as failure
  "$venv/bin/video-r1" eval --help >"$venv/help"
  grep -q '^usage: video-r1 eval' "$venv/help"
  if "$venv/bin/video-r1" eval --max_framse 8 2>"$venv/err"; then
    echo "[py-smoke] a typo'd flag was accepted" >&2
    exit 1
  fi
  grep -q 'video-r1 eval: error: unknown flag(s): --max_framse' "$venv/err"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider "${tests[@]}"
  rm -rf "$venv"
  trap - EXIT
done
