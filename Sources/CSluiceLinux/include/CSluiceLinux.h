// GNU-only Linux calls and constants that Swift's Glibc module does not export.
// Each is a real function or an extern const in shim.c: importing the headers alone
// does not make them visible, because Glibc's module already imported those headers
// without _GNU_SOURCE.
#ifndef CSLUICE_LINUX_H
#define CSLUICE_LINUX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/signalfd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

ssize_t sluice_splice(int fd_in, int fd_out, size_t len, unsigned int flags);
int sluice_pipe2(int fds[2], int flags);
int sluice_set_pipe_size(int fd, int size);
int sluice_get_pipe_size(int fd);
/// Bytes waiting in a pipe (FIONREAD on its read end), or -1.
int sluice_pipe_buffered(int fd);
/// A TCP socket's bytes not yet read (SIOCINQ) and not yet acknowledged by the peer (SIOCOUTQ).
int sluice_socket_queued(int fd, int *unread, int *unsent);
int sluice_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int sluice_errno(void);
int sluice_set_thread_name(const char *name);
int sluice_peercred(int fd, uint32_t *pid, uint32_t *uid, uint32_t *gid);
int sluice_malloc_trim(void);  // memory.c

// Datagram batches (dgram.c): recvmmsg/sendmmsg with peer and local (pktinfo) addresses.
struct sluice_dgrams;
struct sluice_dgrams *sluice_dgrams_new(unsigned count, unsigned size);
void sluice_dgrams_free(struct sluice_dgrams *b);
unsigned sluice_dgrams_capacity(const struct sluice_dgrams *b);
int sluice_dgrams_recv(struct sluice_dgrams *b, int fd);
unsigned sluice_dgrams_length(const struct sluice_dgrams *b, unsigned i);
int sluice_dgrams_truncated(const struct sluice_dgrams *b, unsigned i);
socklen_t sluice_dgrams_peer(const struct sluice_dgrams *b, unsigned i, struct sockaddr_storage *out);
void sluice_dgrams_local(const struct sluice_dgrams *b, unsigned i, struct sockaddr_storage *out);
int sluice_dgrams_send(struct sluice_dgrams *b, unsigned from, unsigned n, int fd,
                       const struct sockaddr_storage *peer, socklen_t peer_len,
                       const struct sockaddr_storage *local);
int sluice_udp_enable_pktinfo(int fd, int v6);

extern const unsigned int sluice_SPLICE_F_MOVE;
extern const unsigned int sluice_SPLICE_F_NONBLOCK;
extern const unsigned int sluice_SPLICE_F_MORE;
extern const int sluice_O_NONBLOCK;
extern const int sluice_O_CLOEXEC;
extern const int sluice_SOCK_NONBLOCK;
extern const int sluice_SOCK_CLOEXEC;

#endif
