// Tiny C shims for Linux calls that Swift cannot make directly: glibc 2.36 has no
// openat2 or renameat2 wrapper usable from Swift (syscall() is variadic), and
// SO_PEERCRED needs struct ucred. Every symbol carries the psys_ prefix.
#ifndef PSYS_H
#define PSYS_H
#include <stdint.h>
#include <sys/types.h>

/// openat2(2) with RESOLVE_* flags. Returns an fd, or -1 with errno set.
int psys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve);
/// fgetxattr(2), fsetxattr(2), fremovexattr(2) (<sys/xattr.h>, which Swift's Glibc module
/// does not export): the partial area's labels and remembered prefix hashes.
/// Return as the calls do (-1 with errno set on failure).
long psys_fgetxattr(int fd, const char *name, void *value, unsigned long size);
int psys_fsetxattr(int fd, const char *name, const void *value, unsigned long size);
int psys_fremovexattr(int fd, const char *name);
/// renameat2(2). Returns 0, or -1 with errno set.
int psys_renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, unsigned int flags);
/// The uid of the process at the other end of a Unix socket (SO_PEERCRED). Returns 0, or -1 with errno set.
int psys_peer_uid(int fd, uid_t *uid);
/// Linux's struct ucred, which getsockopt(SO_PEERCRED) fills, under its own name: the real
/// one needs _GNU_SOURCE, so Swift's Glibc module does not export it. psys.c checks at
/// compile time that the layouts match. The control server reads it through SwiftNIO's
/// unsafeGetSocketOption, which takes a buffer type: a NIO channel does not expose its
/// descriptor, so psys_peer_uid (the client's check) cannot be used there.
typedef struct {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
} psys_ucred;

extern const uint64_t PSYS_RESOLVE_BENEATH;
extern const uint64_t PSYS_RESOLVE_NO_SYMLINKS;
extern const uint64_t PSYS_RESOLVE_NO_MAGICLINKS;
extern const unsigned int PSYS_RENAME_NOREPLACE;
/// UTIME_OMIT for utimensat/futimens: leave that timestamp unchanged (a macro Swift cannot import).
extern const long PSYS_UTIME_OMIT;
/// lseek whence values for sparse files (need _GNU_SOURCE, so Swift's Glibc does not export them).
extern const int PSYS_SEEK_DATA;
extern const int PSYS_SEEK_HOLE;
/// O_PATH for open/openat2 (GNU-only, so Swift's Glibc does not export it).
extern const int PSYS_O_PATH;
/// O_TMPFILE (a macro of GNU-only bits): a file with no name in a directory, named later with linkat.
extern const int PSYS_O_TMPFILE;
/// Gives the nameless (O_TMPFILE) file `fd` the name `name` in `dirfd`, never replacing
/// an existing name (EEXIST): linkat(fd, "", dirfd, name, AT_EMPTY_PATH), which Linux 6.10
/// and later allow to the file's opener; where the kernel refuses it (ENOENT, older
/// kernels without CAP_DAC_READ_SEARCH), linkat(AT_FDCWD, "/proc/self/fd/<fd>", dirfd,
/// name, AT_SYMLINK_FOLLOW) from then on. The /proc path costs a path walk per file.
/// Returns 0, or -1 with errno set.
int psys_link_unnamed(int fd, int dirfd, const char *name);
/// 1 while psys_link_unnamed still uses AT_EMPTY_PATH, 0 once it fell back to /proc
/// (for tests).
int psys_link_unnamed_uses_empty_path(void);
/// The fallback of psys_link_unnamed alone, through /proc/self/fd (for tests: where
/// AT_EMPTY_PATH works, the agent never takes this path).
int psys_link_unnamed_through_proc(int fd, int dirfd, const char *name);
/// mallopt(M_ARENA_MAX, count): bounds glibc malloc arenas. Returns 1 on success.
int psys_set_malloc_arena_max(int count);
#endif
