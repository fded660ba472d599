// A batch of datagrams for recvmmsg/sendmmsg: buffers, peer addresses and the local
// address each datagram was sent to (IP_PKTINFO / IPV6_PKTINFO), kept in C so the msghdr
// and cmsg plumbing never reaches Swift. A worker owns one batch and uses it for one
// direction at a time.
#ifndef _GNU_SOURCE
#error "CSluiceLinux must be built with _GNU_SOURCE (set in Package.swift cSettings)"
#endif

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "CSluiceLinux.h"

// Room for one in6_pktinfo (the larger of the two) with its header.
#define CONTROL_LEN CMSG_SPACE(sizeof(struct in6_pktinfo))

struct sluice_dgrams {
    unsigned count;
    unsigned size;
    struct mmsghdr *msgs;
    struct iovec *iovs;
    struct sockaddr_storage *peers;
    struct sockaddr_storage *locals;
    unsigned char *control;
    unsigned char *data;
};

struct sluice_dgrams *sluice_dgrams_new(unsigned count, unsigned size) {
    struct sluice_dgrams *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->count = count;
    b->size = size;
    b->msgs = calloc(count, sizeof *b->msgs);
    b->iovs = calloc(count, sizeof *b->iovs);
    b->peers = calloc(count, sizeof *b->peers);
    b->locals = calloc(count, sizeof *b->locals);
    b->control = calloc(count, CONTROL_LEN);
    b->data = malloc((size_t)count * size);
    if (!b->msgs || !b->iovs || !b->peers || !b->locals || !b->control || !b->data) {
        sluice_dgrams_free(b);
        return NULL;
    }
    return b;
}

void sluice_dgrams_free(struct sluice_dgrams *b) {
    if (!b) return;
    free(b->msgs);
    free(b->iovs);
    free(b->peers);
    free(b->locals);
    free(b->control);
    free(b->data);
    free(b);
}

unsigned sluice_dgrams_capacity(const struct sluice_dgrams *b) { return b->count; }

static void read_pktinfo(struct msghdr *h, struct sockaddr_storage *local) {
    memset(local, 0, sizeof *local);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            struct sockaddr_in *sin = (struct sockaddr_in *)local;
            sin->sin_family = AF_INET;
            sin->sin_addr = info.ipi_addr;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)local;
            sin6->sin6_family = AF_INET6;
            sin6->sin6_addr = info.ipi6_addr;
        }
    }
}

int sluice_dgrams_recv(struct sluice_dgrams *b, int fd) {
    for (unsigned i = 0; i < b->count; i++) {
        b->iovs[i].iov_base = b->data + (size_t)i * b->size;
        b->iovs[i].iov_len = b->size;
        struct msghdr *h = &b->msgs[i].msg_hdr;
        h->msg_name = &b->peers[i];
        h->msg_namelen = sizeof b->peers[i];
        h->msg_iov = &b->iovs[i];
        h->msg_iovlen = 1;
        h->msg_control = b->control + (size_t)i * CONTROL_LEN;
        h->msg_controllen = CONTROL_LEN;
        h->msg_flags = 0;
        b->msgs[i].msg_len = 0;
    }
    int n = recvmmsg(fd, b->msgs, b->count, MSG_DONTWAIT, NULL);
    for (int i = 0; i < n; i++) read_pktinfo(&b->msgs[i].msg_hdr, &b->locals[i]);
    return n;
}

unsigned sluice_dgrams_length(const struct sluice_dgrams *b, unsigned i) { return b->msgs[i].msg_len; }

int sluice_dgrams_truncated(const struct sluice_dgrams *b, unsigned i) {
    return (b->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
}

socklen_t sluice_dgrams_peer(const struct sluice_dgrams *b, unsigned i, struct sockaddr_storage *out) {
    *out = b->peers[i];
    return b->msgs[i].msg_hdr.msg_namelen;
}

void sluice_dgrams_local(const struct sluice_dgrams *b, unsigned i, struct sockaddr_storage *out) {
    *out = b->locals[i];
}

static size_t set_source(unsigned char *control, const struct sockaddr_storage *local) {
    if (!local || local->ss_family == 0) return 0;
    struct msghdr h = {.msg_control = control, .msg_controllen = CONTROL_LEN};
    struct cmsghdr *c = CMSG_FIRSTHDR(&h);
    if (local->ss_family == AF_INET) {
        struct in_pktinfo info = {0};
        info.ipi_spec_dst = ((const struct sockaddr_in *)local)->sin_addr;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof info);
        memcpy(CMSG_DATA(c), &info, sizeof info);
        return CMSG_SPACE(sizeof info);
    }
    struct in6_pktinfo info = {0};
    info.ipi6_addr = ((const struct sockaddr_in6 *)local)->sin6_addr;
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof info);
    memcpy(CMSG_DATA(c), &info, sizeof info);
    return CMSG_SPACE(sizeof info);
}

int sluice_dgrams_send(struct sluice_dgrams *b, unsigned from, unsigned n, int fd,
                       const struct sockaddr_storage *peer, socklen_t peer_len,
                       const struct sockaddr_storage *local) {
    if (from >= b->count || n > b->count - from) {
        errno = EINVAL;
        return -1;
    }
    for (unsigned i = from; i < from + n; i++) {
        struct msghdr *h = &b->msgs[i].msg_hdr;
        b->iovs[i].iov_len = b->msgs[i].msg_len;
        h->msg_name = peer ? (void *)peer : NULL;
        h->msg_namelen = peer ? peer_len : 0;
        h->msg_control = b->control + (size_t)i * CONTROL_LEN;
        h->msg_controllen = set_source(h->msg_control, local);
        if (h->msg_controllen == 0) h->msg_control = NULL;
        h->msg_flags = 0;
    }
    int sent;
    do {
        sent = sendmmsg(fd, b->msgs + from, n, MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    // sendmmsg overwrote msg_len with bytes sent; the datagrams were sent whole or not at all.
    return sent;
}

int sluice_udp_enable_pktinfo(int fd, int v6) {
    int one = 1;
    if (v6) return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
}
