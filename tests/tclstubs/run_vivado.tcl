# `vivado -mode batch -source SCRIPT ...` on a machine without Vivado: source the stubs, then the script.
source [file join [file dirname [info script]] vivado.tcl]
if {[lsearch $argv -version] >= 0} { puts "Vivado v$::stub_release (64-bit) (approxhls test stub)"; exit 0 }
set i [lsearch $argv -source]
if {$i < 0} { puts stderr "usage: vivado -mode batch -source script.tcl"; exit 2 }
source [lindex $argv [expr {$i + 1}]]
