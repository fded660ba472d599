// One-line wrappers for GNU-only calls; see CSluiceLinux.h for why they exist.
#ifndef _GNU_SOURCE
#error "CSluiceLinux must be built with _GNU_SOURCE (set in Package.swift cSettings)"
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <unistd.h>
#include "CSluiceLinux.h"

ssize_t sluice_splice(int fd_in, int fd_out, size_t len, unsigned int flags) {
    return splice(fd_in, NULL, fd_out, NULL, len, flags);
}

int sluice_pipe2(int fds[2], int flags) { return pipe2(fds, flags); }

int sluice_set_pipe_size(int fd, int size) { return fcntl(fd, F_SETPIPE_SZ, size); }

int sluice_get_pipe_size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }

int sluice_pipe_buffered(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

int sluice_socket_queued(int fd, int *unread, int *unsent) {
    *unread = 0;
    *unsent = 0;
    if (ioctl(fd, SIOCINQ, unread) != 0) return -1;
    return ioctl(fd, SIOCOUTQ, unsent);
}

int sluice_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

int sluice_errno(void) { return errno; }

int sluice_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

int sluice_peercred(int fd, uint32_t *pid, uint32_t *uid, uint32_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof(cred);
    int rc = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
    if (rc == 0) {
        *pid = (uint32_t)cred.pid;
        *uid = (uint32_t)cred.uid;
        *gid = (uint32_t)cred.gid;
    }
    return rc;
}

const unsigned int sluice_SPLICE_F_MOVE = SPLICE_F_MOVE;
const unsigned int sluice_SPLICE_F_NONBLOCK = SPLICE_F_NONBLOCK;
const unsigned int sluice_SPLICE_F_MORE = SPLICE_F_MORE;
const int sluice_O_NONBLOCK = O_NONBLOCK;
const int sluice_O_CLOEXEC = O_CLOEXEC;
const int sluice_SOCK_NONBLOCK = SOCK_NONBLOCK;
const int sluice_SOCK_CLOEXEC = SOCK_CLOEXEC;
