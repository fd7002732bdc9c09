/*
 * How the program runs the trace: a supervisor (the process you started)
 * sets up, forks P0 and waits. Every trace process blocks on its own token
 * pipe; the holder of token t makes step t, prints its TAP line and hands
 * token t+1 to the process of the next step, so the steps happen in trace
 * order. fork() forks the current process (the child takes the trace's
 * name for it), execve() re-executes this program (or its setuid-root
 * copy) with "--resume NAME STEP", and the pipes, kept at fixed descriptor
 * numbers, survive both. After the last step every live process checks
 * itself once more, then the supervisor reports and kills what is left.
 */
#define FD_TOKEN(p) (100 + 2 * (p)) /* read end; the write end is +1 */
#define FD_STATUS 120               /* 'F' failure, 'D' done; 121 writes */
#define FD_GO 122                   /* parent -> new child; 123 writes */
#define FD_READY 124                /* new child -> parent; 125 writes */
#define FD_SHARED 126               /* memfd holding struct shared */
#define TIMEOUT_MS 10000

struct shared {
	int pid[MAX_PROCS];
	int keep_ipc_lock; /* RLIMIT_MEMLOCK could not be lifted */
	char dir[256];     /* where the two program images are */
};

struct token {
	int t;
	int wait_pid; /* a process that exited: wait until it is reaped */
};

enum { OBS_VMFLAGS, OBS_ELIGIBLE, OBS_THP_ENABLED, OBS_THP_DISABLE };

struct obs {
	int kind;
	int slot;
	const char *want;
};

struct str {
	char s[96];
};

static int me = -1; /* this process's name in the trace: P<me> */

/* Not every trace uses every call. */
#define MAYBE_UNUSED __attribute__((unused))

static void run_token(int t);
static void exec_done(int s);
static void fork_child(int s);

static void say(const char *fmt, ...)
{
	char b[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(b) - 1)
		n = sizeof(b) - 1;
	if (write(1, b, n) < 0)
		_exit(KSFT_FAIL);
}

static void status(char c)
{
	if (write(FD_STATUS + 1, &c, 1) != 1)
		_exit(KSFT_FAIL);
}

static void shared_get(struct shared *sh)
{
	if (pread(FD_SHARED, sh, sizeof(*sh), 0) != (ssize_t)sizeof(*sh))
		_exit(KSFT_FAIL);
}

static void shared_set_pid(int p, int pid)
{
	off_t off = offsetof(struct shared, pid) + p * sizeof(int);

	if (pwrite(FD_SHARED, &pid, sizeof(pid), off) != sizeof(pid))
		_exit(KSFT_FAIL);
}

static int read_timeout(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, TIMEOUT_MS) != 1)
		return -1;
	return read(fd, buf, len);
}

static struct str fmt_ret(long r)
{
	static const struct { int e; const char *n; } names[] = {
		{ EPERM, "EPERM" }, { ESRCH, "ESRCH" }, { EINTR, "EINTR" },
		{ EBADF, "EBADF" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EEXIST, "EEXIST" },
		{ EINVAL, "EINVAL" }, { ENOSYS, "ENOSYS" },
	};
	struct str out;
	size_t i;

	snprintf(out.s, sizeof(out.s), "%ld", r);
	for (i = 0; r < 0 && i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == -r)
			snprintf(out.s, sizeof(out.s), "-%s", names[i].n);
	return out;
}

/* A name the call handed out (mmap: vN, fork: PN), or its error. */
MAYBE_UNUSED static struct str fmt_name(char prefix, long r)
{
	struct str out = fmt_ret(r);

	if (r >= 0)
		snprintf(out.s, sizeof(out.s), "%c%ld", prefix, r);
	return out;
}

/* What this process shows of itself: /proc/self/smaps and status. */
struct seen {
	int mapped[MAX_VMAS];
	char flags[MAX_VMAS][32];
	int eligible[MAX_VMAS];
	int thp_enabled;
	long thp_disable;
	char odd[160]; /* a mapping in the slot window that is not a slot */
};

static void read_self(struct seen *s)
{
	static const char *const mn[] = { "hg", "nh", "lo", "lf", "dc", "wf" };
	unsigned long lo = HOLE, hi = SLOT(MAX_VMAS), start, end;
	char line[512];
	int cur = -1, i;
	FILE *f;

	memset(s, 0, sizeof(*s));
	f = fopen("/proc/self/smaps", "r");
	if (!f) {
		snprintf(s->odd, sizeof(s->odd), "cannot open /proc/self/smaps");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			cur = -1;
			if (end <= lo || start >= hi)
				continue;
			for (i = 0; i < MAX_VMAS; i++)
				if (start == SLOT(i) && end == SLOT(i) + REGION)
					cur = i;
			if (cur < 0)
				snprintf(s->odd, sizeof(s->odd),
					 "mapping %lx-%lx in the slot window is not a slot",
					 start, end);
			else
				s->mapped[cur] = 1;
			continue;
		}
		if (cur < 0)
			continue;
		if (!strncmp(line, "THPeligible:", 12)) {
			s->eligible[cur] = atoi(line + 12);
		} else if (!strncmp(line, "VmFlags:", 8)) {
			char *out = s->flags[cur];
			size_t k;

			out[0] = 0;
			for (k = 0; k < sizeof(mn) / sizeof(mn[0]); k++) {
				char want[5];

				snprintf(want, sizeof(want), " %s", mn[k]);
				if (strstr(line + 8, want)) {
					if (out[0])
						strcat(out, " ");
					strcat(out, mn[k]);
				}
			}
		}
	}
	fclose(f);
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "THP_enabled:", 12))
			s->thp_enabled = atoi(line + 12);
	if (f)
		fclose(f);
	s->thp_disable = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
}

static struct str shown(const struct seen *s, const struct obs *o)
{
	struct str out;

	switch (o->kind) {
	case OBS_VMFLAGS:
		if (!s->mapped[o->slot])
			return (struct str){ "unmapped" };
		snprintf(out.s, sizeof(out.s), "[%s]", s->flags[o->slot]);
		return out;
	case OBS_ELIGIBLE:
		if (!s->mapped[o->slot])
			return (struct str){ "unmapped" };
		snprintf(out.s, sizeof(out.s), "%d", s->eligible[o->slot]);
		return out;
	case OBS_THP_ENABLED:
		snprintf(out.s, sizeof(out.s), "%d", s->thp_enabled);
		return out;
	default:
		return fmt_ret(s->thp_disable < 0 ? -errno : s->thp_disable);
	}
}

static const char *obs_name(const struct obs *o, char *buf, size_t n)
{
	switch (o->kind) {
	case OBS_VMFLAGS:
		snprintf(buf, n, "vmflags(v%d)", o->slot);
		break;
	case OBS_ELIGIBLE:
		snprintf(buf, n, "thp_eligible(v%d)", o->slot);
		break;
	case OBS_THP_ENABLED:
		snprintf(buf, n, "thp_enabled()");
		break;
	default:
		snprintf(buf, n, "prctl(PR_GET_THP_DISABLE)");
	}
	return buf;
}

/*
 * One TAP line: `what` returned `got` (NULL for a pure check), and then
 * this process's observations must be `obs`.
 */
static void tap(int n, const char *what, const char *got, const char *want,
		const struct obs *obs, int nobs)
{
	char why[1536] = "", name[48];
	struct seen s;
	int i;

	memset(&s, 0, sizeof(s));
	if (got && strcmp(got, want))
		snprintf(why, sizeof(why), " returned %s, expected %s;", got, want);
	if (nobs) {
		read_self(&s);
		if (s.odd[0])
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " %s;", s.odd);
	}
	for (i = 0; i < nobs; i++) {
		struct str g = shown(&s, &obs[i]);

		if (strcmp(g.s, obs[i].want))
			snprintf(why + strlen(why), sizeof(why) - strlen(why),
				 " then P%d %s = %s, expected %s;", me,
				 obs_name(&obs[i], name, sizeof(name)), g.s, obs[i].want);
	}
	if (why[0]) {
		say("not ok %d %s #%s\n", n, what, why);
		status('F');
	} else {
		say("ok %d %s\n", n, what);
	}
}

static void pass(int t, int wait_pid)
{
	struct token tok = { t, wait_pid };

	if (t == NTOKENS) {
		status('D');
		return;
	}
	if (write(FD_TOKEN(token_owner[t]) + 1, &tok, sizeof(tok)) != sizeof(tok))
		_exit(KSFT_FAIL);
}

/* Until `pid` is gone for good (exited and reaped, so its name is dead). */
MAYBE_UNUSED static void wait_gone(int pid)
{
	int i;

	for (i = 0; i < TIMEOUT_MS; i++) {
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return;
		usleep(1000);
	}
	say("# P%d: pid %d did not go away\n", me, pid);
	status('F');
}

static void loop(void)
{
	struct token tok;

	for (;;) {
		if (read(FD_TOKEN(me), &tok, sizeof(tok)) != sizeof(tok))
			_exit(0);
		if (tok.wait_pid > 0)
			wait_gone(tok.wait_pid);
		run_token(tok.t);
		pass(tok.t + 1, 0);
	}
}

MAYBE_UNUSED static long ret(long r)
{
	return r < 0 ? -errno : r;
}

/* mmap(): the lowest free slot, like the trace language's `= vN`. */
MAYBE_UNUSED static long do_mmap(void)
{
	struct seen s;
	void *p;
	int n;

	read_self(&s);
	for (n = 0; n < NVMAS && s.mapped[n]; n++)
		;
	if (n == NVMAS)
		return -ENOMEM;
	p = mmap((void *)SLOT(n), REGION, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	return n;
}

/* A pidfd for target P<target>, or PIDFD_SELF for -1 (`self`); a name
 * whose process is gone gives ESRCH from pidfd_open itself. */
MAYBE_UNUSED static int pidfd_of(int target)
{
	struct shared sh;

	if (target < 0)
		return PIDFD_SELF;
	shared_get(&sh);
	return syscall(__NR_pidfd_open, sh.pid[target], 0);
}

MAYBE_UNUSED static long do_pmadv(int target, const unsigned long (*iov)[2], int n, int advice,
				  unsigned int flags)
{
	struct iovec v[8];
	int pidfd = pidfd_of(target), i;
	long r;

	if (pidfd == -1)
		return -errno;
	for (i = 0; i < n; i++) {
		v[i].iov_base = (void *)iov[i][0];
		v[i].iov_len = iov[i][1];
	}
	r = ret(syscall(__NR_process_madvise, pidfd, n < 0 ? NULL : v,
			n < 0 ? (size_t)-1 : (size_t)n, advice, flags));
	if (target >= 0)
		close(pidfd);
	return r;
}

/* setresuid(user): uid and gid 65534, no capabilities (but CAP_IPC_LOCK
 * when RLIMIT_MEMLOCK could not be lifted: every memlock check is "within
 * the limit or CAP_IPC_LOCK", so it stands in for the unlimited limit the
 * model assumes). */
MAYBE_UNUSED static long do_setresuid(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = { { 0 } };
	unsigned int keep = 1u << CAP_IPC_LOCK;
	struct shared sh;
	long r;

	shared_get(&sh);
	if (sh.keep_ipc_lock && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0))
		return -errno;
	if (setresgid(USER_ID, USER_ID, USER_ID))
		return -errno;
	if (geteuid() == 0 && setgroups(0, NULL))
		return -errno;
	r = ret(setresuid(USER_ID, USER_ID, USER_ID));
	if (r || !sh.keep_ipc_lock)
		return r;
	d[0].effective = d[0].permitted = d[0].inheritable = keep;
	if (syscall(SYS_capset, &h, d) ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_IPC_LOCK, 0, 0))
		return -errno;
	return ret(prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0));
}

/* fork(): the child becomes P<name> and waits for its parent's go. */
MAYBE_UNUSED static long do_fork(int s, int name)
{
	char c;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid > 0)
		return name;
	me = name;
	shared_set_pid(me, getpid());
	if (read_timeout(FD_GO, &c, 1) != 1)
		_exit(KSFT_FAIL);
	fork_child(s);
	if (write(FD_READY + 1, "r", 1) != 1)
		_exit(KSFT_FAIL);
	loop();
	_exit(0);
}

/* Lets the new child check itself, and waits until it has. */
MAYBE_UNUSED static void fork_release(void)
{
	char c;

	if (write(FD_GO + 1, "g", 1) != 1 || read_timeout(FD_READY, &c, 1) != 1) {
		say("# P%d: the new child did not report\n", me);
		status('F');
	}
}

/* execve(): returns only if it failed. */
MAYBE_UNUSED static long do_exec(int s, int setuid_image)
{
	char path[300], name[16], step[16];
	struct shared sh;
	char *argv[5];

	shared_get(&sh);
	snprintf(path, sizeof(path), "%s/%s", sh.dir, setuid_image ? "setuid-root" : "plain");
	snprintf(name, sizeof(name), "%d", me);
	snprintf(step, sizeof(step), "%d", s);
	argv[0] = path;
	argv[1] = "--resume";
	argv[2] = name;
	argv[3] = step;
	argv[4] = NULL;
	execv(path, argv);
	return -errno;
}

/* exit(): report, hand the token on (the next holder waits until this
 * process is reaped), and go. */
MAYBE_UNUSED static void do_exit(int s, int n, const char *what)
{
	tap(n, what, NULL, NULL, NULL, 0);
	pass(s + 1, getpid());
	_exit(0);
}

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

int main(int argc, char **argv)
{
	struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };
	int fails = 0, done = 0, fd, i;
	struct shared sh;
	const char *why;
	pid_t p0, gone;

	memset(&sh, 0, sizeof(sh));
	if (argc == 4 && !strcmp(argv[1], "--resume")) {
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
		done = c == 'D';
	}
	shared_get(&sh);
	for (i = 0; i < MAX_PROCS; i++)
		if (sh.pid[i] != gone)
			kill(sh.pid[i], SIGKILL);
	if (NEEDS_IMAGES)
		remove_images(&sh);
	say("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:0 error:0\n",
	    fails > NTAP ? 0 : NTAP - fails, fails);
	return fails ? KSFT_FAIL : KSFT_PASS;
}
