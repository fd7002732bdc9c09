/*
 * khugepaged(): "khugepaged finishes a full scan", driven through its sysfs
 * knobs as the mmflags runner drives it. The knobs are saved first and
 * restored on every way out a process can catch (exit, SIGINT, SIGTERM,
 * SIGHUP, SIGQUIT); while the trace runs khugepaged is parked (an hour
 * between scans) so it collapses nothing between steps, as the model
 * assumes. A step sets 4096 pages a pass and no sleep after a failed
 * allocation, wakes it with scan_sleep_millisecs 0 (1 where 0 is refused),
 * waits until full_scans has moved by 2 and parks it again. Where it does
 * not run (mode never) the step is a scan of nothing. It is made by a root
 * helper process (token owner KPROC), since the trace's processes may have
 * dropped root.
 */
#define KH_DIR "/sys/kernel/mm/transparent_hugepage/khugepaged/"
#define KH_PARKED "3600000"
#define KH_TIMEOUT_S 30

/* Restored in this order: scan_sleep_millisecs (which wakes it) last. */
static const char *const kh_knobs[3] = { "pages_to_scan", "alloc_sleep_millisecs",
					 "scan_sleep_millisecs" };
static char kh_path[3][128], kh_saved[3][32];
static volatile sig_atomic_t kh_armed;

static int kh_write(const char *knob, const char *v)
{
	char p[128];
	int fd, r = 0;

	snprintf(p, sizeof(p), KH_DIR "%s", knob);
	fd = open(p, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static long kh_read(const char *file)
{
	char p[128], b[32] = "";
	FILE *f;

	snprintf(p, sizeof(p), KH_DIR "%s", file);
	f = fopen(p, "r");
	if (!f)
		return -1;
	if (!fgets(b, sizeof(b), f))
		b[0] = 0;
	fclose(f);
	return b[0] ? atol(b) : -1;
}

/* Async-signal-safe: open, write, close. */
static void kh_restore(void)
{
	ssize_t n;
	int i, fd;

	if (!kh_armed)
		return;
	for (i = 0; i < 3; i++) {
		fd = open(kh_path[i], O_WRONLY | O_TRUNC);
		if (fd >= 0) {
			n = write(fd, kh_saved[i], strlen(kh_saved[i]));
			(void)n; /* nothing more can be done */
			close(fd);
		}
	}
}

static void kh_on_signal(int sig)
{
	kh_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Saves the knobs, arms their restore and parks khugepaged; 0 or -1. */
static int kh_arm(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	size_t i;

	for (i = 0; i < 3; i++) {
		FILE *f;

		snprintf(kh_path[i], sizeof(kh_path[i]), KH_DIR "%s", kh_knobs[i]);
		f = fopen(kh_path[i], "r");
		if (!f || !fgets(kh_saved[i], sizeof(kh_saved[i]), f)) {
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		kh_saved[i][strcspn(kh_saved[i], "\n")] = 0;
	}
	kh_armed = 1;
	atexit(kh_restore);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], kh_on_signal);
	say("# khugepaged's knobs are restored at exit (by hand: echo %s > %s; echo %s > %s; "
	    "echo %s > %s)\n", kh_saved[0], kh_path[0], kh_saved[1], kh_path[1], kh_saved[2],
	    kh_path[2]);
	if (kh_write("pages_to_scan", "4096") || kh_write("alloc_sleep_millisecs", "0") ||
	    kh_write("scan_sleep_millisecs", KH_PARKED))
		return -1;
	return 0;
}

static int sysfs_is(const char *file, const char *want);

/* khugepaged runs: the mode is not never and (where kernel threads can be
 * seen at all) a thread of that name exists. */
static int kh_running(void)
{
	char p[300], comm[32];
	struct dirent *e;
	int found = 0;
	FILE *f;
	DIR *d;

	if (sysfs_is("/sys/kernel/mm/transparent_hugepage/enabled", "never"))
		return 0;
	f = fopen("/proc/2/comm", "r");
	if (!f)
		return 1;
	if (!fgets(comm, sizeof(comm), f) || strcmp(comm, "kthreadd\n")) {
		fclose(f);
		return 1; /* another pid namespace: cannot tell, so wait */
	}
	fclose(f);
	d = opendir("/proc");
	while (d && !found && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "/proc/%s/comm", e->d_name);
		f = fopen(p, "r");
		if (f) {
			found = fgets(comm, sizeof(comm), f) && !strcmp(comm, "khugepaged\n");
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * The helper's own 4 MiB, MADV_HUGEPAGE and written once, so its mm stays
 * registered with khugepaged: with none registered khugepaged sleeps with
 * no timeout (no full scans counted), and the first process to register
 * wakes it for a scan at once, parked or not. An mm is registered only
 * through a VMA with an anon_vma, hence the write. Made before P0 exists,
 * and not in P0's ancestor (a child of a registered mm is registered).
 */
static void kh_anchor(void)
{
	char *a = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (a == MAP_FAILED || madvise(a, REGION, MADV_HUGEPAGE)) {
		say("# khugepaged(): cannot make the helper's anchor: %s\n", strerror(errno));
		status('E');
		return;
	}
	*(volatile char *)a = 1;
	madvise(a, REGION, MADV_HUGEPAGE);
}

/* One full scan, or nothing where khugepaged does not run; the result as
 * the trace language prints it, or a harness error. */
MAYBE_UNUSED static struct str do_khugepaged(void)
{
	long f0, f, c0, c1;
	struct shared sh;
	int i;

	if (!kh_running())
		return fmt_ret(0);
	f0 = kh_read("full_scans");
	c0 = kh_read("pages_collapsed");
	if (kh_write("scan_sleep_millisecs", "0") == -EINVAL)
		kh_write("scan_sleep_millisecs", "1");
	for (i = 0; (f = kh_read("full_scans")) < f0 + 2; i++) {
		if (i == KH_TIMEOUT_S * 100) {
			kh_write("scan_sleep_millisecs", KH_PARKED);
			say("# khugepaged(): no 2 full scans in %d s (full_scans %ld -> %ld): "
			    "the harness failed, not the kernel\n", KH_TIMEOUT_S, f0, f);
			status('E');
			return (struct str){ "<harness error>" };
		}
		if (i % 100 == 99)
			status('P'); /* the supervisor's patience is TIMEOUT_MS */
		usleep(10000);
	}
	kh_write("scan_sleep_millisecs", KH_PARKED);
	c1 = kh_read("pages_collapsed");
	shared_get(&sh);
	sh.kh_collapsed += c1 - c0;
	if (pwrite(FD_SHARED, &sh.kh_collapsed, sizeof(long), offsetof(struct shared, kh_collapsed)) !=
	    sizeof(long))
		_exit(KSFT_FAIL);
	return fmt_ret(0);
}
