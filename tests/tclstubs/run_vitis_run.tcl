# `vitis-run --mode hls --tcl SCRIPT` (UG1702, Vitis 2023.1 and later) on a machine without Vitis: the options the
# reference documents, refused otherwise (no -f, no Tcl arguments after the script: vitis-run passes none), then the
# same Vitis HLS Tcl commands as vitis_hls (UG1399's command reference applies to both).
source [file join [file dirname [info script]] vitis_hls.tcl]
if {[package vcompare $::stub_release 2023.1] < 0} {
    puts stderr "vitis-run: command not found (Vitis $::stub_release predates it; approxhls test stub)"
    exit 127
}
set mode ""
set script ""
for {set i 0} {$i < [llength $argv]} {incr i} {
    set a [lindex $argv $i]
    switch -- $a {
        --mode { incr i; set mode [lindex $argv $i] }
        --tcl { incr i; set script [lindex $argv $i] }
        --work_dir { incr i }
        default { puts stderr "vitis-run: unknown option or argument '$a' (approxhls test stub)"; exit 2 }
    }
}
if {$mode ne "hls"} { puts stderr "vitis-run: --mode hls is required (the only mode)"; exit 2 }
if {$script eq "" || ![file exists $script]} { puts stderr "vitis-run: --tcl needs an existing script, got '$script'"; exit 2 }
stub_record LAUNCH vitis-run {*}$argv
source $script
