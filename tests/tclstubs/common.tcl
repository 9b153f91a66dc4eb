# Recording stubs shared by the Vitis HLS and Vivado stand-ins: every stub appends one line
# "command<TAB>arg<TAB>arg..." to $::env(APPROXHLS_TCL_RECORD) and refuses what the real tool would refuse.
proc stub_record {cmd args} {
    set fh [open $::env(APPROXHLS_TCL_RECORD) a]
    puts $fh [join [concat [list $cmd] $args] "\t"]
    close $fh
}

proc stub_fail {msg} {
    stub_record STUB_ERROR $msg
    error "stub: $msg"
}

# Options of a command line: returns a dict of -name -> value (flags -> 1) and the positional words.
proc stub_options {argv flags} {
    set opts [dict create]
    set rest {}
    for {set i 0} {$i < [llength $argv]} {incr i} {
        set a [lindex $argv $i]
        if {[string index $a 0] eq "-" && ![string is double -strict $a]} {
            if {$a in $flags} {
                dict set opts $a 1
            } else {
                incr i
                if {$i >= [llength $argv]} { stub_fail "option $a needs a value" }
                dict set opts $a [lindex $argv $i]
            }
        } else {
            lappend rest $a
        }
    }
    return [list $opts $rest]
}

# A whole file written (parent directories created) or read: what the stand-ins produce and inspect.
proc stub_write {path args} {
    file mkdir [file dirname $path]
    set fh [open $path w]
    puts $fh [join $args "\n"]
    close $fh
}
proc stub_read {path} {
    set fh [open $path]
    set text [read $fh]
    close $fh
    return $text
}
