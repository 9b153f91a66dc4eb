# Stand-ins for the Vivado Tcl commands approxhls's build_overlay.tcl uses (UG835), with the state needed to
# refuse what Vivado would refuse: unknown IP or board, a cell or pin that does not exist, a PS port used before
# it is enabled, wrapper before validation, bitstream before a top is set.
source [file join [file dirname [info script]] common.tcl]

set ::board_parts {tul.com.tw:pynq-z2:part0:1.0 xilinx.com:zcu104:part0:1.1 xilinx.com:kv260_som:part0:1.3 avnet.com:ultra96v2:part0:1.2}
# board parts as get_board_parts lists them (two file versions of one board: -latest_file_version keeps the newest)
lappend ::board_parts xilinx.com:kv260_som:part0:1.4
# IP catalog of a Vivado 2023.2 install (two versions of one IP to check that the newest is taken)
set ::catalog [dict create \
    processing_system7 {xilinx.com:ip:processing_system7:5.5} \
    zynq_ultra_ps_e {xilinx.com:ip:zynq_ultra_ps_e:3.4 xilinx.com:ip:zynq_ultra_ps_e:3.5} \
    axi_dma {xilinx.com:ip:axi_dma:7.1} \
    xlconstant {xilinx.com:ip:xlconstant:1.1}]
set ::interfaces [dict create \
    processing_system7 {M_AXI_GP0 S_AXI_HP0 DDR FIXED_IO} \
    zynq_ultra_ps_e {M_AXI_HPM0_FPD S_AXI_HP0_FPD} \
    axi_dma {S_AXI_LITE M_AXI_MM2S M_AXI_S2MM M_AXIS_MM2S S_AXIS_S2MM} \
    xlconstant {}]
set ::pins [dict create xlconstant {dout}]
# PS ports and the CONFIG property that must be 1 before a design may use them
set ::port_enable [dict create M_AXI_GP0 CONFIG.PCW_USE_M_AXI_GP0 S_AXI_HP0 CONFIG.PCW_USE_S_AXI_HP0 \
    M_AXI_HPM0_FPD CONFIG.PSU__USE__M_AXI_GP0 S_AXI_HP0_FPD CONFIG.PSU__USE__S_AXI_GP2]
set ::v [dict create project "" dir "" part "" board_part "" ip_repo {} bd "" validated 0 top "" wrapper "" \
    cells {} props {} nets {} automated {} bitstream 0 ports {} pin_nets {} params {} constrs {}]

proc version {args} {
    if {$args ne "-short"} { stub_fail "version: only -short is stubbed" }
    return $::stub_release
}
proc set_param {args} {
    stub_record set_param {*}$args
    lassign $args name value
    if {$name ne "board.repoPaths"} { stub_fail "set_param $name is not a parameter these scripts may set" }
    foreach d $value { if {![file isdirectory $d]} { stub_fail "board.repoPaths: $d is not a directory" } }
    dict set ::v params $name $value
}

proc current_project {args} { return [dict get $::v project] }
proc current_fileset {args} { return sources_1 }
proc update_compile_order {args} { stub_record update_compile_order {*}$args }

proc get_board_parts {args} {
    lassign [stub_options $args {-quiet -latest_file_version}] o rest
    set found [lsearch -all -glob -inline $::board_parts [lindex $rest 0]]
    if {[dict exists $o -latest_file_version]} {
        set newest [dict create]
        foreach b [lsort -dictionary $found] { dict set newest [join [lrange [split $b :] 0 2] :] $b }
        set found [dict values $newest]
    }
    return $found
}
proc create_project {args} {
    stub_record create_project {*}$args
    lassign [stub_options $args {-force}] o rest
    lassign $rest name dir
    if {![dict exists $o -part]} { stub_fail "create_project without -part" }
    file mkdir $dir
    dict set ::v project $name
    dict set ::v dir $dir
    dict set ::v part [dict get $o -part]
}
proc stub_need_project {what} {
    if {[dict get $::v project] eq ""} { stub_fail "$what before create_project" }
}
proc set_property {args} {
    stub_record set_property {*}$args
    stub_need_project set_property
    if {[lindex $args 0] eq "-dict"} {
        set cell [lindex $args 2]
        if {![dict exists $::v cells $cell]} { stub_fail "set_property -dict on unknown object $cell" }
        foreach {k val} [lindex $args 1] {
            stub_check_param [dict get $::v cells $cell] $k $val
            dict set ::v props $cell $k $val
        }
        return
    }
    lassign $args key value obj
    switch -- $key {
        board_part {
            if {$value ni $::board_parts} { stub_fail "unknown board part $value" }
            dict set ::v board_part $value
        }
        ip_repo_paths { dict set ::v ip_repo $value }
        top { dict set ::v top $value }
    }
}
proc update_ip_catalog {args} {
    stub_record update_ip_catalog {*}$args
    foreach repo [dict get $::v ip_repo] {
        set f [file join $repo component.xml]
        if {![file exists $f]} { stub_fail "update_ip_catalog: no IP in $repo" }
        set lines [split [stub_read $f] "\n"]
        set vlnv [lindex [lindex $lines 0] 1]
        set name [lindex [split $vlnv :] 2]
        dict set ::catalog $name $vlnv
        dict set ::interfaces $name [lrange [lindex $lines 1] 1 end]
    }
}
proc get_ipdefs {args} {
    lassign [stub_options $args {-all}] o rest
    if {![regexp {NAME == (\w+)} [dict get $o -filter] - name]} { stub_fail "get_ipdefs: unsupported filter" }
    if {[dict exists $::catalog $name]} { return [dict get $::catalog $name] }
    return {}
}
proc create_bd_design {args} {
    stub_record create_bd_design {*}$args
    stub_need_project create_bd_design
    dict set ::v bd [lindex $args 0]
}
proc create_bd_cell {args} {
    stub_record create_bd_cell {*}$args
    if {[dict get $::v bd] eq ""} { stub_fail "create_bd_cell before create_bd_design" }
    lassign [stub_options $args {}] o rest
    set vlnv [dict get $o -vlnv]
    set name [lindex [split $vlnv :] 2]
    if {![dict exists $::catalog $name] || $vlnv ni [dict get $::catalog $name]} { stub_fail "IP $vlnv is not in the catalog" }
    set cell [lindex $rest 0]
    if {[dict exists $::v cells $cell]} { stub_fail "cell $cell exists" }
    dict set ::v cells $cell $name
    dict set ::v props $cell {}
}
proc get_bd_cells {args} {
    foreach c $args { if {![dict exists $::v cells $c]} { stub_fail "get_bd_cells: no cell $c" } }
    return $args
}
proc stub_pin {path} {
    lassign [split [string trimleft $path /] /] cell pin
    if {![dict exists $::v cells $cell]} { stub_fail "no cell $cell (pin $path)" }
    set ip [dict get $::v cells $cell]
    if {$pin ni [dict get $::interfaces $ip]} { stub_fail "$ip cell $cell has no interface $pin" }
    if {[dict exists $::port_enable $pin]} {
        set prop [dict get $::port_enable $pin]
        if {![dict exists $::v props $cell $prop] || [dict get $::v props $cell $prop] ne "1"} {
            stub_fail "$cell/$pin used while $prop is not 1"
        }
    }
    return "$cell/$pin"
}
proc get_bd_intf_pins {args} {
    set out {}
    foreach p $args { lappend out [stub_pin $p] }
    return $out
}
proc connect_bd_intf_net {args} {
    stub_record connect_bd_intf_net {*}$args
    if {[llength $args] != 2} { stub_fail "connect_bd_intf_net needs two interface pins" }
    dict lappend ::v nets $args
}
proc apply_bd_automation {args} {
    stub_record apply_bd_automation {*}$args
    lassign [stub_options $args {}] o rest
    set rule [dict get $o -rule]
    set config [dict get $o -config]
    # the -config keys each automation rule takes (Vivado rejects others)
    set keys [dict create xilinx.com:bd_rule:axi4 {Master Slave Clk Clk_master Clk_slave Clk_xbar intc_ip master_apm} \
        xilinx.com:bd_rule:processing_system7 {make_external apply_board_preset Master Slave} \
        xilinx.com:bd_rule:zynq_ultra_ps_e {apply_board_preset}]
    if {![dict exists $keys $rule]} { stub_fail "apply_bd_automation: unknown rule $rule" }
    dict for {k -} $config {
        if {$k ni [dict get $keys $rule]} { stub_fail "apply_bd_automation: rule $rule has no config key $k" }
    }
    if {$rule eq "xilinx.com:bd_rule:axi4"} {
        foreach role {Master Slave} {
            if {[dict exists $config $role]} { stub_pin [dict get $config $role] }
        }
    }
    foreach obj $rest { dict lappend ::v automated $obj }
}
proc assign_bd_address {args} { stub_record assign_bd_address {*}$args }
proc create_bd_port {args} {
    stub_record create_bd_port {*}$args
    lassign [stub_options $args {}] o rest
    if {[dict get $o -dir] ni {I O IO}} { stub_fail "create_bd_port: bad -dir" }
    dict set ::v ports [lindex $rest 0] [dict get $o -dir]
}
proc get_bd_ports {args} {
    foreach p $args { if {![dict exists $::v ports $p]} { stub_fail "get_bd_ports: no port $p" } }
    return $args
}
proc get_bd_pins {args} {
    foreach p $args {
        lassign [split $p /] cell pin
        if {![dict exists $::v cells $cell]} { stub_fail "get_bd_pins: no cell $cell" }
        set ip [dict get $::v cells $cell]
        if {![dict exists $::pins $ip] || $pin ni [dict get $::pins $ip]} { stub_fail "get_bd_pins: $ip has no pin $pin" }
    }
    return $args
}
proc connect_bd_net {args} {
    stub_record connect_bd_net {*}$args
    if {[llength $args] < 2} { stub_fail "connect_bd_net needs two pins or ports" }
    dict lappend ::v pin_nets $args
}
proc validate_bd_design {args} {
    stub_record validate_bd_design {*}$args
    # every cell's AXI interfaces must be connected (streams by nets, memory-mapped by automation)
    set connected [concat {*}[dict get $::v nets] [dict get $::v automated]]
    dict for {cell ip} [dict get $::v cells] {
        if {$ip in {processing_system7 zynq_ultra_ps_e}} { continue }
        foreach pin [dict get $::interfaces $ip] {
            if {"$cell/$pin" ni $connected} { stub_fail "validate_bd_design: $cell/$pin is not connected" }
        }
    }
    dict set ::v validated 1
}
proc save_bd_design {args} { stub_record save_bd_design {*}$args }
proc get_files {args} {
    set bd [dict get $::v bd]
    if {[lindex $args end] ne "$bd.bd"} { stub_fail "get_files: no file [lindex $args end]" }
    return [file join [dict get $::v dir] [dict get $::v project].srcs sources_1 bd $bd $bd.bd]
}
proc make_wrapper {args} {
    stub_record make_wrapper {*}$args
    if {![dict get $::v validated]} { stub_fail "make_wrapper before validate_bd_design" }
    set bd [dict get $::v bd]
    set f [file join [dict get $::v dir] [dict get $::v project].gen sources_1 bd $bd hdl ${bd}_wrapper.v]
    stub_write $f "module ${bd}_wrapper();" "endmodule"
    dict set ::v wrapper ${bd}_wrapper
    return $f
}
proc add_files {args} {
    stub_record add_files {*}$args
    lassign [stub_options $args {-norecurse}] o rest
    foreach f $rest { if {![file exists $f]} { stub_fail "add_files: $f does not exist" } }
    if {[dict exists $o -fileset] && [dict get $o -fileset] eq "constrs_1"} { dict lappend ::v constrs {*}$rest }
}
proc get_runs {args} { return [lindex $args 0] }
proc launch_runs {args} {
    stub_record launch_runs {*}$args
    if {[dict get $::v top] ne [dict get $::v wrapper] || [dict get $::v top] eq ""} { stub_fail "launch_runs: top is not the block design wrapper" }
    lassign [stub_options $args {}] o rest
    if {$rest ne "impl_1" || [dict get $o -to_step] ne "write_bitstream"} { stub_fail "launch_runs: expected impl_1 -to_step write_bitstream" }
    set bd [dict get $::v bd]
    set prj [file join [dict get $::v dir] [dict get $::v project]]
    stub_write $prj.runs/impl_1/${bd}_wrapper.bit "bitstream of $bd for [dict get $::v part]"
    stub_write $prj.gen/sources_1/bd/$bd/hw_handoff/$bd.hwh "<MODULES/>"
    dict set ::v bitstream 1
}
proc wait_on_run {args} { stub_record wait_on_run {*}$args }
# slack of the worst setup (max) and hold (min) path: APPROXHLS_STUB_WNS / _WHS (defaults: met)
proc get_timing_paths {args} {
    lassign [stub_options $args {}] o rest
    if {![dict get $::v bitstream]} { stub_fail "get_timing_paths before implementation" }
    return [list path [dict get $o -delay_type]]
}
proc get_property {args} {
    if {[lindex $args 0] eq "PROGRESS"} { return [expr {[dict get $::v bitstream] ? "100%" : "0%"}] }
    if {[lindex $args 0] eq "SLACK"} {
        set var [expr {[lindex $args 1 1] eq "max" ? "APPROXHLS_STUB_WNS" : "APPROXHLS_STUB_WHS"}]
        return [expr {[info exists ::env($var)] ? $::env($var) : 0.5}]
    }
    stub_fail "get_property [lindex $args 0] is not stubbed"
}
proc open_run {args} { stub_record open_run {*}$args }
proc report_utilization {args} {
    stub_record report_utilization {*}$args
    lassign [stub_options $args {}] o rest
    stub_write [dict get $o -file] \
        "Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.\n| Device       : [dict get $::v part]\n" \
        "1. Slice Logic\n--------------\n\n+----------------------------+-------+-------+------------+-----------+-------+" \
        "|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |" \
        "+----------------------------+-------+-------+------------+-----------+-------+" \
        "| Slice LUTs                 | 12001 |     0 |          0 |     53200 | 22.56 |" \
        "|   LUT as Logic             | 11000 |     0 |          0 |     53200 | 20.68 |" \
        "| Slice Registers            | 15002 |     0 |          0 |    106400 | 14.10 |" \
        "+----------------------------+-------+-------+------------+-----------+-------+\n" \
        "3. Memory\n---------\n\n+----------------+------+-------+------------+-----------+-------+" \
        "| Block RAM Tile |  4.5 |     0 |          0 |       140 |  3.21 |" \
        "+----------------+------+-------+------------+-----------+-------+\n" \
        "4. DSP\n------\n\n+----------------+------+-------+------------+-----------+-------+" \
        "| DSPs           |   17 |     0 |          0 |       220 |  7.73 |" \
        "+----------------+------+-------+------------+-----------+-------+"
}
proc report_timing_summary {args} {
    stub_record report_timing_summary {*}$args
    lassign [stub_options $args {}] o rest
    stub_write [dict get $o -file] \
        "------------------------------------------------------------------------------------------------" \
        "| Design Timing Summary\n| ---------------------\n------------------------------------------------------------------------------------------------\n" \
        "    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)  THS Failing Endpoints  THS Total Endpoints     WPWS(ns)     TPWS(ns)  TPWS Failing Endpoints  TPWS Total Endpoints  " \
        "    -------      -------  ---------------------  -------------------      -------      -------  ---------------------  -------------------     --------     --------  ----------------------  --------------------  " \
        "      1.234        0.000                      0                40000        0.021        0.000                      0                40000        3.750        0.000                       0                 16000  \n" \
        "All user specified timing constraints are met."
}
