#define _GNU_SOURCE
#include "psys.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

const uint64_t PSYS_RESOLVE_BENEATH = RESOLVE_BENEATH;
const uint64_t PSYS_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS;
const uint64_t PSYS_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS;
const unsigned int PSYS_RENAME_NOREPLACE = RENAME_NOREPLACE;
const long PSYS_UTIME_OMIT = UTIME_OMIT;
const int PSYS_SEEK_DATA = SEEK_DATA;
const int PSYS_SEEK_HOLE = SEEK_HOLE;
const int PSYS_O_PATH = O_PATH;
const int PSYS_O_TMPFILE = O_TMPFILE;

/* 1 until linkat(AT_EMPTY_PATH) was refused once: kernels before 6.10 allow it only
 * with CAP_DAC_READ_SEARCH and answer ENOENT; from then on only /proc is tried. */
static atomic_int empty_path_allowed = 1;

static int link_through_proc(int fd, int dirfd, const char *name) {
    char path[64];
    int n = snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = EINVAL;
        return -1;
    }
    int r;
    do {
        r = linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW);
    } while (r < 0 && errno == EINTR);
    return r;
}

int psys_link_unnamed(int fd, int dirfd, const char *name) {
    if (atomic_load_explicit(&empty_path_allowed, memory_order_relaxed)) {
        int r;
        do {
            r = linkat(fd, "", dirfd, name, AT_EMPTY_PATH);
        } while (r < 0 && errno == EINTR);
        if (r == 0 || errno != ENOENT) return r;
        /* ENOENT: refused for lack of the capability, or the target directory is gone
         * (which /proc reports the same way). Only when /proc then works was it the
         * capability: use /proc from then on. */
        r = link_through_proc(fd, dirfd, name);
        if (r == 0) atomic_store_explicit(&empty_path_allowed, 0, memory_order_relaxed);
        return r;
    }
    return link_through_proc(fd, dirfd, name);
}

int psys_link_unnamed_uses_empty_path(void) {
    return atomic_load_explicit(&empty_path_allowed, memory_order_relaxed);
}

int psys_link_unnamed_through_proc(int fd, int dirfd, const char *name) {
    return link_through_proc(fd, dirfd, name);
}

int psys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    long r;
    do {
        r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (r < 0 && errno == EINTR);
    return (int)r;
}

int psys_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags) {
    return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}

long psys_fgetxattr(int fd, const char *name, void *value, unsigned long size) {
    return (long)fgetxattr(fd, name, value, size);
}

int psys_fsetxattr(int fd, const char *name, const void *value, unsigned long size) {
    return fsetxattr(fd, name, value, size, 0);
}

int psys_fremovexattr(int fd, const char *name) {
    return fremovexattr(fd, name);
}

#include <stddef.h>
_Static_assert(sizeof(psys_ucred) == sizeof(struct ucred), "psys_ucred must match struct ucred");
_Static_assert(offsetof(psys_ucred, pid) == offsetof(struct ucred, pid), "psys_ucred.pid");
_Static_assert(offsetof(psys_ucred, uid) == offsetof(struct ucred, uid), "psys_ucred.uid");
_Static_assert(offsetof(psys_ucred, gid) == offsetof(struct ucred, gid), "psys_ucred.gid");

int psys_peer_uid(int fd, uid_t *uid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    *uid = cred.uid;
    return 0;
}

#include <malloc.h>
int psys_set_malloc_arena_max(int count) {
    return mallopt(M_ARENA_MAX, count);
}
