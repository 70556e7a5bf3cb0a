/*
 * Shared-key authentication for the transport, on libsodium.
 *
 * Handshake: the dialer and the acceptor each send a random nonce; each side
 * proves the key with HMAC-SHA256(key, label || nonce_d || nonce_a || id_d ||
 * id_a) under its own label, so a proof cannot be replayed in the other role or
 * in another session. Both then derive one key per direction from the same
 * transcript.
 *
 * Frames: ChaCha20-Poly1305 (IETF) in detached mode. The 16-byte tag covers
 * the frame header and payload (as associated data, or with the payload as
 * ciphertext when encrypting); the nonce is the direction's frame counter, so
 * a replayed, reordered or dropped frame fails too.
 */
#ifndef CASTY_CLUSTER_AUTH_H
#define CASTY_CLUSTER_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#define CASTY_AUTH_KEY_LEN   32u
#define CASTY_AUTH_PROOF_LEN 32u
#define CASTY_AUTH_TAG_LEN   16u

enum casty_auth_role { CASTY_AUTH_DIALER = 0, CASTY_AUTH_ACCEPTOR = 1 };

typedef struct casty_auth_session {
    uint8_t tx[CASTY_AUTH_KEY_LEN];
    uint8_t rx[CASTY_AUTH_KEY_LEN];
    uint64_t tx_seq, rx_seq;
    bool encrypt;
} casty_auth_session;

/* Once per process: 0, or -ENOSYS if libsodium cannot initialise. */
int casty_auth_init(void);

/* Fill `out` with n random bytes (also for non-keyed nonces). */
void casty_auth_random(uint8_t *out, uint32_t n);

/* The proof of `role` over the handshake transcript. */
void casty_auth_proof(const uint8_t key[CASTY_AUTH_KEY_LEN], int role, const uint8_t *nonce_d,
                      const uint8_t *nonce_a, uint64_t id_d, uint64_t id_a,
                      uint8_t out[CASTY_AUTH_PROOF_LEN]);

/* Constant-time comparison of two proofs. */
bool casty_auth_proof_ok(const uint8_t *a, const uint8_t *b);

/* Derive the session's two keys for `role` (the peer derives them swapped). */
void casty_auth_session_init(casty_auth_session *s, const uint8_t key[CASTY_AUTH_KEY_LEN], int role,
                             const uint8_t *nonce_d, const uint8_t *nonce_a, uint64_t id_d,
                             uint64_t id_a, bool encrypt);

/*
 * Seal one frame in place: `frame` is header + payload + 16 tag bytes, header
 * already written with the MAC flag. Encrypting rewrites the payload and the
 * header's checksum (which covers what is on the wire).
 */
void casty_auth_seal(casty_auth_session *s, uint8_t *frame, uint32_t payload_len);

/*
 * Check one received frame: `hdr` (12 bytes) and `payload` as on the wire,
 * `tag`. When encrypting, the plaintext goes to `out` (payload_len bytes).
 * true if authentic. The receive counter advances either way, in step with
 * the sender's.
 */
bool casty_auth_open(casty_auth_session *s, const uint8_t *hdr, const uint8_t *payload,
                     uint32_t payload_len, const uint8_t *tag, uint8_t *out);

#endif
