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

# The release the stand-in claims to be (APPROXHLS_STUB_RELEASE, default 2023.2): `version -short` and `-version`.
set ::stub_release [expr {[info exists ::env(APPROXHLS_STUB_RELEASE)] ? $::env(APPROXHLS_STUB_RELEASE) : "2023.2"}]

# CONFIG parameters of the IPs the scripts configure, with the values the IP accepts (from the IPs' product
# guides: PG021 AXI DMA, PG082 Zynq-7000 PS, PG201 Zynq UltraScale+ PS, xlconstant): Vivado refuses any other
# name or value, so the stand-in does.
proc stub_range {lo hi} { return [list range $lo $hi] }
set ::ip_params [dict create \
    axi_dma [dict create c_include_sg {0 1} c_sg_length_width [stub_range 8 26] c_sg_include_stscntrl_strm {0 1} \
        c_include_mm2s {0 1} c_include_s2mm {0 1} \
        c_m_axis_mm2s_tdata_width {8 16 32 64 128 256 512 1024} c_s_axis_s2mm_tdata_width {8 16 32 64 128 256 512 1024} \
        c_m_axi_mm2s_data_width {32 64 128 256 512 1024} c_m_axi_s2mm_data_width {32 64 128 256 512 1024} \
        c_mm2s_burst_size {2 4 8 16 32 64 128 256} c_s2mm_burst_size {2 4 8 16 32 64 128 256}] \
    processing_system7 [dict create PCW_FPGA0_PERIPHERAL_FREQMHZ [stub_range 10 250] PCW_USE_M_AXI_GP0 {0 1} \
        PCW_USE_S_AXI_HP0 {0 1} PCW_S_AXI_HP0_DATA_WIDTH {32 64}] \
    zynq_ultra_ps_e [dict create PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ [list int 10 333] PSU__OVERRIDE__BASIC_CLOCK {0 1} \
        PSU__USE__M_AXI_GP0 {0 1} PSU__USE__M_AXI_GP1 {0 1} PSU__USE__M_AXI_GP2 {0 1} PSU__USE__S_AXI_GP2 {0 1}] \
    xlconstant [dict create CONST_VAL [stub_range 0 4294967295] CONST_WIDTH [stub_range 1 4096]]]

proc stub_check_param {ip key value} {
    if {![string match CONFIG.* $key]} { stub_fail "set_property -dict: $key is not a CONFIG parameter" }
    set name [string range $key 7 end]
    if {![dict exists $::ip_params $ip $name]} { stub_fail "IP $ip has no parameter $name" }
    set allowed [dict get $::ip_params $ip $name]
    switch -- [lindex $allowed 0] {
        range {
            if {![string is double -strict $value] || $value < [lindex $allowed 1] || $value > [lindex $allowed 2]} {
                stub_fail "$ip $name = $value is outside [lindex $allowed 1]..[lindex $allowed 2]"
            }
        }
        int {
            if {![string is integer -strict $value] || $value < [lindex $allowed 1] || $value > [lindex $allowed 2]} {
                stub_fail "$ip $name = $value must be a whole number in [lindex $allowed 1]..[lindex $allowed 2]"
            }
        }
        default {
            if {$value ni $allowed} { stub_fail "$ip $name = $value is not one of $allowed" }
        }
    }
}
