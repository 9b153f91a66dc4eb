# Stand-ins for the Vitis HLS Tcl commands approxhls's build_ip.tcl uses (UG1399 command reference).
source [file join [file dirname [info script]] common.tcl]
set ::hls [dict create project "" solution "" top "" files {} synthesized 0 part "" period ""]

proc open_project {args} {
    stub_record open_project {*}$args
    lassign [stub_options $args {-reset}] o rest
    if {[llength $rest] != 1} { stub_fail "open_project needs one project name" }
    file mkdir [lindex $rest 0]
    dict set ::hls project [lindex $rest 0]
}
proc stub_need {key what} {
    if {[dict get $::hls $key] eq ""} { stub_fail "$what before open_$key" }
}
proc set_top {args} {
    stub_record set_top {*}$args
    stub_need project set_top
    dict set ::hls top [lindex $args 0]
}
proc add_files {args} {
    stub_record add_files {*}$args
    stub_need project add_files
    lassign [stub_options $args {-tb}] o rest
    foreach f $rest {
        if {![file exists $f]} { stub_fail "add_files: $f does not exist (cwd [pwd])" }
        if {![dict exists $o -tb]} { dict lappend ::hls files $f }
    }
}
proc open_solution {args} {
    stub_record open_solution {*}$args
    stub_need project open_solution
    lassign [stub_options $args {-reset}] o rest
    if {[dict exists $o -flow_target] && [dict get $o -flow_target] ni {vivado vitis}} {
        stub_fail "open_solution: bad -flow_target"
    }
    dict set ::hls solution [lindex $rest 0]
}
proc set_part {args} {
    stub_record set_part {*}$args
    stub_need solution set_part
    dict set ::hls part [lindex $args 0]
}
proc create_clock {args} {
    stub_record create_clock {*}$args
    stub_need solution create_clock
    lassign [stub_options $args {}] o rest
    set p [dict get $o -period]
    if {![string is double -strict $p] || $p <= 0} { stub_fail "create_clock: bad period $p" }
    dict set ::hls period $p
}
proc set_clock_uncertainty {args} {
    stub_record set_clock_uncertainty {*}$args
    stub_need solution set_clock_uncertainty
}
proc csynth_design {args} {
    stub_record csynth_design {*}$args
    stub_need solution csynth_design
    foreach k {top part period} {
        if {[dict get $::hls $k] eq ""} { stub_fail "csynth_design without $k" }
    }
    if {[llength [dict get $::hls files]] == 0} { stub_fail "csynth_design without design files" }
    # the top function must be defined in a design file
    set found 0
    foreach f [dict get $::hls files] {
        set text [stub_read $f]
        if {[regexp "void\\s+[dict get $::hls top]\\s*\\(" $text]} { set found 1 }
    }
    if {!$found} { stub_fail "csynth_design: top [dict get $::hls top] is not defined in [dict get $::hls files]" }
    stub_write [file join [dict get $::hls project] [dict get $::hls solution] syn report [dict get $::hls top]_csynth.xml] \
        "<profile><UserAssignments><Part>[dict get $::hls part]</Part><TargetClockPeriod>[dict get $::hls period]</TargetClockPeriod></UserAssignments>" \
        "<PerformanceEstimates><SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>7.300</EstimatedClockPeriod></SummaryOfTimingAnalysis>" \
        "<SummaryOfOverallLatency><unit>clock cycles</unit><Best-caseLatency>3</Best-caseLatency><Worst-caseLatency>12345</Worst-caseLatency><Interval-min>4</Interval-min><Interval-max>12346</Interval-max></SummaryOfOverallLatency></PerformanceEstimates>" \
        "<AreaEstimates><Resources><BRAM_18K>2</BRAM_18K><DSP>0</DSP><FF>4321</FF><LUT>8765</LUT><URAM>0</URAM></Resources>" \
        "<AvailableResources><BRAM_18K>280</BRAM_18K><DSP>220</DSP><FF>106400</FF><LUT>53200</LUT><URAM>0</URAM></AvailableResources></AreaEstimates></profile>"
    dict set ::hls synthesized 1
}
proc export_design {args} {
    stub_record export_design {*}$args
    if {![dict get $::hls synthesized]} { stub_fail "export_design before csynth_design" }
    lassign [stub_options $args {}] o rest
    if {[dict get $o -format] ne "ip_catalog"} { stub_fail "export_design: format must be ip_catalog" }
    set vlnv "[dict get $o -vendor]:[dict get $o -library]:[dict get $o -ipname]:[dict get $o -version]"
    # bus interfaces as Vitis HLS names them: axis ports by argument, s_axilite bundles as s_axi_<bundle>
    set ports {}
    foreach f [dict get $::hls files] {
        set text [stub_read $f]
        foreach {- port} [regexp -all -inline {INTERFACE\s+mode\s*=\s*axis\s+port\s*=\s*(\w+)} $text] { lappend ports $port }
        foreach {- b} [regexp -all -inline {INTERFACE\s+mode\s*=\s*s_axilite\s+port\s*=\s*\w+\s+bundle\s*=\s*(\w+)} $text] {
            if {"s_axi_$b" ni $ports} { lappend ports s_axi_$b }
        }
    }
    stub_write [file join [dict get $::hls project] [dict get $::hls solution] impl ip component.xml] \
        "vlnv $vlnv" "interfaces $ports"
}

# hls4ml's solution settings (its build_prj.tcl) with the option names Vitis HLS accepts
proc config_compile {args} {
    stub_record config_compile {*}$args
    stub_need solution config_compile
    lassign [stub_options $args {}] o rest
    dict for {k val} $o { if {$k ni {-name_max_length -pipeline_loops -unsafe_math_optimizations}} { stub_fail "config_compile: unknown option $k" } }
}
proc config_schedule {args} {
    stub_record config_schedule {*}$args
    stub_need solution config_schedule
    foreach a $args { if {![regexp {^-enable_dsp_full_reg(=(true|false))?$} $a]} { stub_fail "config_schedule: unknown option $a" } }
}
proc version {args} { return $::stub_release }
