/* net.h: ZeroMQ for opml processes. One `net` per process: the ZeroMQ context, the process's CURVE
 * key pair (derived from its identity, identity_curve_secret) and a ZAP handler thread that admits
 * a CURVE client only if its public key is in the allow-list file.
 *
 * Every socket is CURVE: net_bind makes a CURVE server (clients must present an allow-listed key),
 * net_connect a CURVE client of a server whose public key the peer string names:
 *     "<64 hex digits of the server's CURVE public key>@tcp://host:port"
 * Sockets get ZMTP heartbeats (a silent peer is dropped after NET_HEARTBEAT_TIMEOUT_MS), automatic
 * reconnection (100 ms, backing off to 2 s) and a maximum message size of NET_MAX_MSG bytes.
 *
 * Allow-list file: one CURVE public key per line as 64 hex digits (optionally 0x-prefixed),
 * anything after the key and whitespace is a comment, as are lines starting with '#'. */
#ifndef OPML_NET_H
#define OPML_NET_H

#include "identity.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <zmq.h>

#define NET_MAX_MSG ((int64_t)(288u << 20)) /* a full 2^28-byte tensor plus room */
#define NET_HEARTBEAT_IVL_MS 1000
#define NET_HEARTBEAT_TIMEOUT_MS 5000
#define NET_MAX_FRAMES 8 /* opml messages have at most 3 frames; more is hostile */

typedef struct net net;

/* Creates the context and keys; with allow_file (not NULL or "") also starts the ZAP handler,
 * which net_bind requires. Returns NULL with a reason in err. */
net *net_new(const identity *id, const char *allow_file, char *err, size_t errlen);

/* Stops the ZAP handler and terminates the context; every socket must be closed first. */
void net_free(net *n);

/* The process's CURVE public key as 64 hex digits (no 0x). */
void net_curve_public_hex(const net *n, char out[65]);

/* A CURVE-server socket of `type` (ZMQ_ROUTER, ZMQ_XPUB, ...) bound to endpoint. Returns the
 * socket or NULL with a reason in err. Needs an allow-list (net_new). */
void *net_bind(net *n, int type, const char *endpoint, char *err, size_t errlen);

/* A CURVE-client socket of `type` connected to peer ("KEYHEX@endpoint"). Returns the socket or
 * NULL with a reason in err. The connection itself is made (and remade) in the background. */
void *net_connect(net *n, int type, const char *peer, char *err, size_t errlen);

/* Closes a socket (NULL is fine), waiting at most 200 ms for unsent messages. */
void net_close(void *sock);

/* Sends `count` frames as one message, without blocking longer than the socket's send time-out.
 * Returns 0 or -1 (errno from zmq: EAGAIN when no peer can take it, EHOSTUNREACH, ...). */
int net_sendv(void *sock, const struct iovec *frames, int count);

/* Receives one whole message into frames[0..*count-1] (each zmq_msg_init'ed here; close them with
 * net_msgs_close). A message with more than max frames is read to its end, dropped and reported
 * as -1 with errno EMSGSIZE. Returns 0, or -1 (EAGAIN with ZMQ_DONTWAIT when nothing is there). */
int net_recv(void *sock, zmq_msg_t *frames, int max, int *count, int flags);
void net_msgs_close(zmq_msg_t *frames, int count);

/* Parses "KEYHEX@endpoint". Returns 0 and points *endpoint into peer, or -1. */
int net_parse_peer(const char *peer, uint8_t key[32], const char **endpoint);

#endif
