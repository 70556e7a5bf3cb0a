/*
 * libsodium behind cluster/auth.h. Chosen over OpenSSL because its API is
 * small and misuse-resistant (fixed algorithms, constant-time comparisons,
 * no contexts to leak), and Debian ships it as libsodium-dev.
 */
#include "cluster/auth.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#include "cluster/frame.h"
#include "cluster/le.h"
#include "core/assert.h"

int casty_auth_init(void)
{
    return sodium_init() < 0 ? -ENOSYS : 0;
}

void casty_auth_random(uint8_t *out, uint32_t n)
{
    randombytes_buf(out, n);
}

static void transcript_mac(const uint8_t *key, const char *label, const uint8_t *nonce_d,
                           const uint8_t *nonce_a, uint64_t id_d, uint64_t id_a, uint8_t *out)
{
    crypto_auth_hmacsha256_state st;
    uint8_t ids[16];
    casty__le_put64(ids, id_d);
    casty__le_put64(ids + 8, id_a);
    crypto_auth_hmacsha256_init(&st, key, CASTY_AUTH_KEY_LEN);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, strlen(label) + 1);
    crypto_auth_hmacsha256_update(&st, nonce_d, CASTY_NONCE_LEN);
    crypto_auth_hmacsha256_update(&st, nonce_a, CASTY_NONCE_LEN);
    crypto_auth_hmacsha256_update(&st, ids, sizeof(ids));
    crypto_auth_hmacsha256_final(&st, out);
    sodium_memzero(&st, sizeof(st));
}

void casty_auth_proof(const uint8_t key[CASTY_AUTH_KEY_LEN], int role, const uint8_t *nonce_d,
                      const uint8_t *nonce_a, uint64_t id_d, uint64_t id_a,
                      uint8_t out[CASTY_AUTH_PROOF_LEN])
{
    transcript_mac(key, role == CASTY_AUTH_DIALER ? "casty proof dialer" : "casty proof acceptor",
                   nonce_d, nonce_a, id_d, id_a, out);
}

bool casty_auth_proof_ok(const uint8_t *a, const uint8_t *b)
{
    return crypto_verify_32(a, b) == 0;
}

void casty_auth_session_init(casty_auth_session *s, const uint8_t key[CASTY_AUTH_KEY_LEN], int role,
                             const uint8_t *nonce_d, const uint8_t *nonce_a, uint64_t id_d,
                             uint64_t id_a, bool encrypt)
{
    uint8_t d2a[CASTY_AUTH_KEY_LEN], a2d[CASTY_AUTH_KEY_LEN];
    transcript_mac(key, "casty session d2a", nonce_d, nonce_a, id_d, id_a, d2a);
    transcript_mac(key, "casty session a2d", nonce_d, nonce_a, id_d, id_a, a2d);
    memcpy(s->tx, role == CASTY_AUTH_DIALER ? d2a : a2d, CASTY_AUTH_KEY_LEN);
    memcpy(s->rx, role == CASTY_AUTH_DIALER ? a2d : d2a, CASTY_AUTH_KEY_LEN);
    sodium_memzero(d2a, sizeof(d2a));
    sodium_memzero(a2d, sizeof(a2d));
    s->tx_seq = s->rx_seq = 0;
    s->encrypt = encrypt;
}

static void seq_nonce(uint64_t seq, uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES])
{
    memset(nonce, 0, crypto_aead_chacha20poly1305_IETF_NPUBBYTES);
    casty__le_put64(nonce + 4, seq);
}

void casty_auth_seal(casty_auth_session *s, uint8_t *frame, uint32_t payload_len)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    seq_nonce(s->tx_seq++, nonce);
    uint8_t *payload = frame + CASTY_FRAME_HDR, *tag = payload + payload_len;
    unsigned long long taglen;
    if (s->encrypt) {
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(
            payload, tag, &taglen, payload, payload_len, frame, 8, NULL, nonce, s->tx);
        /* The checksum covers the bytes on the wire: recompute it over the ciphertext. */
        casty_frame_header(frame, frame[2], frame[3], payload, payload_len);
    } else {
        /* Tag only: an empty message (libsodium wants non-null pointers even so). */
        uint8_t none = 0;
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(&none, tag, &taglen, &none, 0, frame,
                                                           CASTY_FRAME_HDR + payload_len, NULL,
                                                           nonce, s->tx);
    }
}

bool casty_auth_open(casty_auth_session *s, const uint8_t *hdr, const uint8_t *payload,
                     uint32_t payload_len, const uint8_t *tag, uint8_t *out)
{
    uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    seq_nonce(s->rx_seq++, nonce);
    if (s->encrypt)
        return crypto_aead_chacha20poly1305_ietf_decrypt_detached(out, NULL, payload, payload_len,
                                                                  tag, hdr, 8, nonce, s->rx) == 0;
    /* Header and payload are contiguous in every decoded frame (frame.h). */
    CASTY_ASSERT(payload == hdr + CASTY_FRAME_HDR);
    uint8_t none = 0;
    return crypto_aead_chacha20poly1305_ietf_decrypt_detached(
               &none, NULL, &none, 0, tag, hdr, CASTY_FRAME_HDR + payload_len, nonce, s->rx) == 0;
}
