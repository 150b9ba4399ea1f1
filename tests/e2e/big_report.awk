# SPDX-License-Identifier: MIT
# A synthetic report.json of n task attempts of job id on 16 ranks of 4
# hosts (one in 20 failed, one in 1000 interrupted, one in 1000 cancelled),
# for tests/e2e/report_html.sh and bench/report_html.sh:
#   awk -v id=JOBID -v n=COUNT -f big_report.awk >report.json
BEGIN {
    printf "{\"job\": \"%s\", \"name\": \"big\", \"state\": \"failed\", ", id
    printf "\"submitted\": \"2026-11-29T18:00:00.000000Z\", "
    printf "\"started\": \"2026-11-29T18:00:00.000000Z\", "
    printf "\"ended\": \"2026-11-29T18:20:00.000000Z\", "
    printf "\"counts\": {\"tasks\": %d, \"succeeded\": %d, \"failed\": %d, \"cancelled\": 0}, ", n, n - n / 20, n / 20
    printf "\"tasks\": [\n"
    for (i = 0; i < n; i++) {
        r = i % 16; s = int(i / 16) * 0.19 + r * 0.01
        d = 0.05 + ((i * 7919) % 100) / 700.0; code = (i % 20 == 7) ? 1 : 0
        e = s + d
        printf "%s{\"job\": \"%s\", \"task\": %d, \"attempt\": 1, \"host\": \"node%02d\", \"rank\": %d, ", (i ? "," : ""), id, i, int(r / 4), r + 1
        printf "\"start\": \"2026-11-29T18:%02d:%02d.%06dZ\", ", int(s / 60), int(s) % 60, int((s - int(s)) * 1e6)
        printf "\"end\": \"2026-11-29T18:%02d:%02d.%06dZ\", \"elapsed\": %.6f, ", int(e / 60), int(e) % 60, int((e - int(e)) * 1e6), d
        if (i % 1000 == 3)      # ended by a stop of mpispool-run
            printf "\"exit_code\": null, \"signal\": 15, \"timed_out\": false, \"error\": null, \"interrupted\": true, "
        else if (i % 1000 == 5) # killed by mpispool cancel
            printf "\"exit_code\": null, \"signal\": 15, \"timed_out\": false, \"error\": \"cancelled by mpispool cancel\", \"cancelled\": true, "
        else
            printf "\"exit_code\": %d, \"signal\": null, \"timed_out\": false, \"error\": null, ", code
        printf "\"max_rss_kb\": 1000, \"user_s\": 0.01, \"system_s\": 0.0}\n"
    }
    print "]}"
}
