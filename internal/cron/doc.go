// Package cron is svinit's built-in cron service: it reads busybox-crond
// style crontabs and starts their jobs on time, inside PID 1.
//
// It never forks: jobs are started through Config.Spawn, which the
// integrator builds from internal/reaper (fork and exit), internal/privdrop
// (the user) and internal/logmux (output prefixed cron/USER). A Cron is
// adapted to builtin.Service by its Run, Signal and Status methods; settings
// come from the service environment with ApplyEnv (CRONTABS_DIR,
// CRON_JOB_TIMEOUT, TZ). `svinit check` validates crontabs with Check.
//
// # Files
//
// Each regular file Dir/USER is the crontab of USER (Dir is CRONTABS_DIR,
// default /etc/crontabs). As in busybox crond, a name containing a dot is
// never a crontab: that skips dotfiles, vim's *.swp, *.bak and Alpine's
// *.apk-new; names ending in ~ (editor backups) are skipped too, logged at
// debug. Anything else that is not a regular file after following symlinks
// (a folder, a FIFO, a dangling link) is an error naming it (SPEC §4):
// warned and skipped, never opened. Symlinks are followed, so a Kubernetes
// ConfigMap mounted on Dir works. A file whose user is unknown (Config.LookupUser
// fails) is skipped with a warning, as busybox does; so is a file over 1 MiB.
//
// # Lines
//
// Blank lines and lines whose first non-blank character is # are ignored.
// A line starting with a letter or _ sets a variable: NAME=value, with
// optional blanks around =, and one pair of matching single or double
// quotes stripped from the value (no escapes), as in crontab(5). A variable
// applies to the job lines below it only — busybox and Vixie cron both give
// each job the environment read so far, so lines above keep what they had.
// Every variable goes into the jobs' environment; three also mean something
// to cron: SHELL picks the shell (Job.Shell; default /bin/sh, "SHELL=" resets
// it), CRON_TZ picks the zone of the schedules below it ("CRON_TZ=" goes back
// to Config.Location, the container's TZ), and MAILTO is only passed on —
// output goes to the log, never to mail.
//
// A job line is a schedule and a command. The schedule is five fields
// (minute hour day-of-month month day-of-week) with *, numbers, ranges
// (1-5), steps (*/15, 0-23/2, and robfig/cron's 5/15 = 5-59/15), lists (5,35),
// month and day names in any case (jan, mon-fri), and 7 or N-7 for Sunday;
// or one of @yearly, @annually, @monthly, @weekly, @daily, @midnight,
// @hourly and @reboot. robfig/cron's @every is refused: busybox has no such
// thing. The command is the rest of the line, blanks trimmed, run as
// `SHELL -c COMMAND`; % is not special (busybox passes it to the shell as
// is, unlike Vixie cron's newline/stdin meaning).
//
// A bad line is reported as "FILE:LINE: what" (a *LineError), warned, and
// skipped; the rest of the file still runs. That includes a schedule that
// can never match (0 0 30 2 *) and an unknown CRON_TZ zone (the zone then
// stays as it was). Zones come from the system's zoneinfo (Alpine's tzdata
// package or $ZONEINFO).
//
// # Day of month and day of week
//
// When both day fields are restricted, a day matching either runs the job
// ("0 0 13 * fri" runs on every Friday and on every 13th), the classic cron
// OR. When either is unrestricted only the other counts. robfig/cron calls a
// field unrestricted when it starts with * or ? (without a step above 1);
// busybox when it lists every value. This package follows busybox: a field that
// lists every value (1-31, 0-6, mon-sun...) counts as unrestricted too, so
// "0 0 1-31 * mon" runs on Mondays only. */2 is restricted in both.
//
// # Scheduling
//
// One goroutine (Run) sleeps until the earliest next run of any job, or the
// next rescan, whichever comes first, on Config.Clock. At each wake it starts
// every job that is due and computes that job's next time from now, so:
//
//   - Missed times run once, not once per missed time: if the host slept or
//     the clock stepped forward over several times of a job, the job runs
//     once when cron wakes, then on its schedule again. Waits are never
//     longer than a minute, so a sleep through a host suspend (Go timers do
//     not count suspended time) ends a minute late at most.
//   - If the clock steps back, every next time is recomputed from the new
//     time (otherwise jobs would wait out the difference).
//   - No overlap: a job whose previous run is still running when it is due
//     again is skipped and the skip warned:
//     `cron: skipped root:3 "cmd": still running (pid N)`. The run still
//     counts as done; the job's next time moves on.
//
// The schedule is parsed and evaluated by Schedule (schedule.go), written
// here to replace github.com/robfig/cron/v3 (32 KB of the binary net, with
// the log and io/ioutil it links): its parser and Next are robfig's, rule
// for rule and error message for error message (except a schedule that
// only a form feed keeps from starting with @ or TZ=: refused too, in other
// words), and FuzzSchedule compares them with robfig's (a test-only
// dependency) from start times in 1900-2100 in ten zones.
// Times are evaluated in the job's zone, wall clock field by field. Across
// daylight-saving changes that means (TestDST pins it): a wall time that
// does not exist on the spring-forward day (02:30 in America/New_York) is
// skipped that day; a wall time that happens twice on the fall-back day
// (01:30) runs twice, once per offset; hourly and shorter schedules follow
// real hours. busybox crond behaves the same, for it too walks wall-clock
// minutes through localtime.
//
// @reboot jobs run once per boot, when the cron service first starts:
// not on reloads, not when the service is restarted or its Cron rebuilt,
// provided every Cron built by one svinit process shares one Config.Boot.
// A crontab added later does not run its @reboot lines (busybox: same).
//
// # Timeouts and stopping
//
// With CRON_JOB_TIMEOUT (Config.JobTimeout) set, a run still going after it
// gets TERM to its process group, and KILL KillGrace later (default 5 s),
// both warned. When Run's context ends (sv stop cron, shutdown), running
// jobs get TERM, then KILL after KillGrace, and Run waits one more
// KillGrace for their exits before returning.
//
// # Reloading
//
// Signal(SIGHUP) re-reads every crontab at once; every minute Run also
// compares the names, sizes and mtimes of the files in Dir and reloads
// when any changed. A line whose user, schedule, zone and command did not
// change keeps its next time, history and running process across a reload
// (even if it moved to another line number), so a reload never starts an
// overlapping run nor loses a run that was due.
//
// # Environment of a job
//
// Config.Environ (the snapshot, taken at each run), then HOME from passwd
// and SHELL=/bin/sh, then the crontab's variables above the line (which may
// override HOME, SHELL, PATH...), then USER and LOGNAME, which may not be
// overridden (as crond sets them).
//
// # Logs
//
// Load and reload summaries at info; job start and a zero exit at debug;
// a nonzero exit at warn (`cron: root:3 exited 2 (pid N)`, 128+N when killed
// by signal N); skips, timeouts, start failures and bad lines at warn.
//
// # Status
//
// Status returns a StatusReport: per job its user, file, line, schedule,
// command, last run, last exit, last start error, next run and running pid.
package cron
