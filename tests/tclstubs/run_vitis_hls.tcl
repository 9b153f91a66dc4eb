# `vitis_hls -f SCRIPT [-l LOG]` on a machine without Vitis HLS: source the stubs, then the script.
# Vitis 2025.1 and later have no vitis_hls Tcl shell to rely on (UG1702: vitis-run --mode hls --tcl): the
# stand-in of such a release refuses, so a flow that still calls vitis_hls there fails here too.
source [file join [file dirname [info script]] vitis_hls.tcl]
if {[package vcompare $::stub_release 2025.1] >= 0} {
    puts stderr "vitis_hls: not available in Vitis $::stub_release (approxhls test stub): use vitis-run --mode hls --tcl"
    exit 127
}
if {[lsearch $argv -version] >= 0} { puts "Vitis HLS - High-Level Synthesis from C, C++ and OpenCL v$::stub_release (approxhls test stub)"; exit 0 }
set i [lsearch $argv -f]
if {$i < 0} { puts stderr "usage: vitis_hls -f script.tcl"; exit 2 }
stub_record LAUNCH vitis_hls {*}$argv
source [lindex $argv [expr {$i + 1}]]
