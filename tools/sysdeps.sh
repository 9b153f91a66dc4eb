#!/usr/bin/env bash
# Installs the Debian packages approxhls needs when running as root (CI, fresh containers);
# otherwise says which are missing and what each is for. Never fails the build for an optional one.
set -u
# package:command-or-path:purpose:required(1)/optional(0)
deps=(
  "g++:g++:compiles the hls4ml C-simulation:1"
  "make:make:runs this Makefile:1"
  "dataset-fashion-mnist:/usr/share/datasets/fashion-mnist:the Fashion-MNIST dataset (cnn, resnet8):0"
  "yosys:yosys:FPGA LUT counts of the multipliers (approxhls multipliers characterize):0"
  "iverilog:iverilog:simulates the multipliers' Verilog in the equality proof:0"
  "tcl:tclsh:runs the generated Vivado/Vitis HLS Tcl against recording stubs in the tests:0"
)
missing=()
for d in "${deps[@]}"; do
  IFS=: read -r pkg probe purpose required <<<"$d"
  if [[ "$probe" == /* ]]; then [ -e "$probe" ] && continue; else command -v "$probe" >/dev/null 2>&1 && continue; fi
  missing+=("$pkg:$purpose:$required")
done
[ ${#missing[@]} -eq 0 ] && exit 0
pkgs=$(printf '%s\n' "${missing[@]}" | cut -d: -f1 | tr '\n' ' ')
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: $pkgs"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq $pkgs >/dev/null && exit 0
  echo "warning: apt-get could not install: $pkgs" >&2
fi
status=0
for m in "${missing[@]}"; do
  IFS=: read -r pkg purpose required <<<"$m"
  if [ "$required" = "1" ]; then
    echo "missing Debian package '$pkg' (needed: $purpose). Install it with: sudo apt-get install $pkg" >&2
    status=1
  else
    echo "note: Debian package '$pkg' is not installed ($purpose); install it with: sudo apt-get install $pkg" >&2
  fi
done
exit $status
