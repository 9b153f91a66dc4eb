# `vitis_hls -f SCRIPT [-l LOG]` on a machine without Vitis HLS: source the stubs, then the script.
source [file join [file dirname [info script]] vitis_hls.tcl]
if {[lsearch $argv -version] >= 0} { puts "Vitis HLS - High-Level Synthesis from C, C++ and OpenCL v$::stub_release (approxhls test stub)"; exit 0 }
set i [lsearch $argv -f]
if {$i < 0} { puts stderr "usage: vitis_hls -f script.tcl"; exit 2 }
source [lindex $argv [expr {$i + 1}]]
