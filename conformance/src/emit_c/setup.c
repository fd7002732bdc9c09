/*
 * Setting up and tearing down: the two program images (plain and
 * setuid-root) for execve, the pipes at fixed descriptors, the check that
 * this machine is the one the model describes, and the supervisor.
 */
MAYBE_UNUSED static int copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0700);
	if (out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	if (fchown(out, 0, 0) || fchmod(out, mode))
		return -1;
	return close(out);
}

/* The two images in a directory every uid can reach, on a mount that
 * honours the setuid bit. */
MAYBE_UNUSED static int install_images(struct shared *sh)
{
	static const char *const bases[] = { "/tmp", "/var/tmp" };
	char p[300];
	size_t i;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		struct statvfs st;

		if (statvfs(bases[i], &st) || (st.f_flag & (ST_NOSUID | ST_NOEXEC)))
			continue;
		snprintf(sh->dir, sizeof(sh->dir), "%s/mmflags-c-XXXXXX", bases[i]);
		if (!mkdtemp(sh->dir) || chmod(sh->dir, 0755))
			continue;
		snprintf(p, sizeof(p), "%s/plain", sh->dir);
		if (copy_file("/proc/self/exe", p, 0755))
			return -1;
		snprintf(p, sizeof(p), "%s/setuid-root", sh->dir);
		return copy_file("/proc/self/exe", p, 04755);
	}
	return -1;
}

MAYBE_UNUSED static void remove_images(const struct shared *sh)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/plain", sh->dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/setuid-root", sh->dir);
	unlink(p);
	rmdir(sh->dir);
}

static int fixed_pipe(int fd)
{
	int p[2];

	if (pipe(p) || dup2(p[0], fd) < 0 || dup2(p[1], fd + 1) < 0)
		return -1;
	close(p[0]);
	close(p[1]);
	return 0;
}

/* The mode selected in a sysfs choice file ("always [madvise] never"). */
static int sysfs_is(const char *file, const char *want)
{
	char buf[128] = "", sel[32] = "";
	FILE *f = fopen(file, "r");
	char *a, *b;

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	a = strchr(buf, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!a || !b || b - a - 1 >= (int)sizeof(sel))
		return 0;
	memcpy(sel, a + 1, b - a - 1);
	return !strcmp(sel, want);
}

/* The machine the model describes: top-level mode as the trace says, only
 * the 2048kB size inheriting it, every other anonymous size never. */
static const char *machine_differs(void)
{
	static const int sizes[] = { 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 8192 };
	static char why[160];
	char f[128];
	size_t i;

	if (!sysfs_is("/sys/kernel/mm/transparent_hugepage/enabled", SYSFS_MODE))
		return "the THP mode is not " SYSFS_MODE " (as the trace's `# sysfs:` needs)";
	if (!sysfs_is("/sys/kernel/mm/transparent_hugepage/hugepages-2048kB/enabled", "inherit"))
		return "hugepages-2048kB/enabled is not inherit";
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(f, sizeof(f), "/sys/kernel/mm/transparent_hugepage/hugepages-%dkB/enabled",
			 sizes[i]);
		if (access(f, F_OK) == 0 && !sysfs_is(f, "never")) {
			snprintf(why, sizeof(why), "hugepages-%dkB/enabled is not never", sizes[i]);
			return why;
		}
	}
	return NULL;
}

/*
 * What the model assumes never happens, counted system-wide: a fault that
 * fell back to small pages, a collapse that found no huge page, khugepaged
 * collapsing on its own (outside khugepaged() steps).
 */
struct counters {
	long fallback, alloc_failed, collapsed;
};

static long vmstat(const char *key)
{
	char k[64];
	long v, r = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	while (f && fscanf(f, "%63s %ld", k, &v) == 2)
		if (!strcmp(k, key)) {
			r = v;
			break;
		}
	if (f)
		fclose(f);
	return r;
}

static void counters_now(struct counters *c)
{
	char b[32] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/khugepaged/pages_collapsed", "r");

	c->fallback = vmstat("thp_fault_fallback");
	c->alloc_failed = vmstat("thp_collapse_alloc_failed");
	if (f && !fgets(b, sizeof(b), f))
		b[0] = 0;
	if (f)
		fclose(f);
	c->collapsed = atol(b);
}

int main(int argc, char **argv)
{
	struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };
	int fails = 0, errors = 0, transients = 0, done = 0, fd, i;
	struct counters c0, c1;
	pid_t p0, gone, kh = -1;
	struct shared sh;
	const char *why;

	memset(&sh, 0, sizeof(sh));
	if (argc == 4 && !strcmp(argv[1], "--resume")) {
		/* A setuid-root copy exists while the test runs: it execs
		 * nothing but the images beside it, so it is no root shell. */
		char self[4096], *slash;
		ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

		shared_get(&sh);
		self[len > 0 ? len : 0] = 0;
		slash = strrchr(self, '/');
		if (!slash || (*slash = 0, strcmp(self, sh.dir)))
			_exit(KSFT_FAIL);
		me = atoi(argv[2]);
		exec_done(atoi(argv[3]));
		pass(atoi(argv[3]) + 1, 0);
		loop();
	}
	say("TAP version 13\n");
	if (getuid() != 0) {
		say("1..0 # SKIP the trace's P0 is root: run this as root\n");
		return KSFT_SKIP;
	}
	why = machine_differs();
	if (why) {
		say("1..0 # SKIP %s\n", why);
		return KSFT_SKIP;
	}
	if (NEEDS_IMAGES && install_images(&sh)) {
		say("1..0 # SKIP no directory for a setuid-root copy (nosuid /tmp and /var/tmp?)\n");
		return KSFT_SKIP;
	}
#if NEEDS_KHUGEPAGED
	if (kh_arm()) {
		say("1..0 # SKIP cannot hold khugepaged's knobs in " KH_DIR "\n");
		return KSFT_SKIP;
	}
#endif
	if (setrlimit(RLIMIT_MEMLOCK, &inf))
		sh.keep_ipc_lock = 1;
	/* A reaped process: what a name that was never forked refers to. */
	gone = fork();
	if (gone == 0)
		_exit(0);
	waitpid(gone, NULL, 0);
	for (i = 0; i < MAX_PROCS; i++)
		sh.pid[i] = gone;
	fd = memfd_create("mmflags-shared", 0);
	if (fd < 0 || dup2(fd, FD_SHARED) < 0 || pwrite(FD_SHARED, &sh, sizeof(sh), 0) != sizeof(sh))
		return KSFT_FAIL;
	for (i = 0; i < MAX_PROCS; i++)
		if (fixed_pipe(FD_TOKEN(i)))
			return KSFT_FAIL;
	if (fixed_pipe(FD_STATUS) || fixed_pipe(FD_GO) || fixed_pipe(FD_READY))
		return KSFT_FAIL;
	signal(SIGCHLD, SIG_IGN); /* exited processes are reaped at once */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	say("1..%d\n", NTAP);
#if NEEDS_KHUGEPAGED
	if (fixed_pipe(FD_TOKEN(KPROC)))
		return KSFT_FAIL;
	kh = fork();
	if (kh == 0) {
		me = KPROC;
		kh_anchor();
		if (write(FD_READY + 1, "a", 1) != 1)
			_exit(KSFT_FAIL);
		loop();
	}
	{
		char c;

		if (kh < 0 || read_timeout(FD_READY, &c, 1) != 1)
			return KSFT_FAIL;
	}
#endif
	counters_now(&c0);
	p0 = fork();
	if (p0 == 0) {
		me = 0;
		shared_set_pid(0, getpid());
		loop();
	}
	pass(0, 0);
	while (!done) {
		char c;

		if (read_timeout(FD_STATUS, &c, 1) != 1) {
			say("# the trace stopped: no process made progress for %d ms\n", TIMEOUT_MS);
			fails++;
			break;
		}
		fails += c == 'F';
		errors += c == 'E';
		transients += c == 'I';
		done = c == 'D';
	}
	counters_now(&c1);
	shared_get(&sh);
	for (i = 0; i < MAX_PROCS; i++)
		if (sh.pid[i] != gone)
			kill(sh.pid[i], SIGKILL);
	if (kh > 0)
		kill(kh, SIGKILL);
	if (NEEDS_IMAGES)
		remove_images(&sh);
	say("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:%d\n",
	    fails > NTAP ? 0 : NTAP - fails, fails, errors);
	/* Neither a pass nor a failure: the harness failed, or the kernel ran
	 * where the model does not apply. */
	if (errors) {
		say("# inconclusive: the harness failed (see above)\n");
		return KSFT_SKIP;
	}
	if (transients) {
		say("# inconclusive: %d collapse(s) failed transiently (see above)\n", transients);
		return KSFT_SKIP;
	}
	if (c1.fallback != c0.fallback || c1.alloc_failed != c0.alloc_failed) {
		say("# inconclusive: thp_fault_fallback moved by %ld, thp_collapse_alloc_failed by %ld: "
		    "a huge page could not be allocated, which the model assumes never happens\n",
		    c1.fallback - c0.fallback, c1.alloc_failed - c0.alloc_failed);
		return KSFT_SKIP;
	}
	if (fails && c1.collapsed - c0.collapsed != sh.kh_collapsed) {
		say("# inconclusive: khugepaged/pages_collapsed moved by %ld outside khugepaged() steps: "
		    "khugepaged collapsed pages on its own, which the model assumes never happens\n",
		    c1.collapsed - c0.collapsed - sh.kh_collapsed);
		return KSFT_SKIP;
	}
	return fails ? KSFT_FAIL : KSFT_PASS;
}
