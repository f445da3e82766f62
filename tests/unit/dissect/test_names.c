/* SPDX-License-Identifier: MIT */
/* test_names.c: the code-to-name tables (IANA TLS registries; RFC 8701 GREASE; TLS 1.3 draft versions)
 * and the key exchange kind of cipher suites. Expected names are the IANA registry's / Wireshark's. */
#include "../../../dissect/internal.h"
#include "../../../dissect/names.h"
#include "../testlib.h"

#include <string.h>

#define STR_EQ(a, b) CU_ASSERT_STRING_EQUAL_FATAL((a) != NULL ? (a) : "(null)", (b))

static void test_cipher_known(void)
{
    const struct td_cipher_suite *cs = td_cipher_suite_find(0x1301);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_AES_128_GCM_SHA256");
    STR_EQ(cs->kx, "TLS13");
    STR_EQ(cs->auth, "TLS13");
    CU_ASSERT_FALSE(cs->is_cbc);

    cs = td_cipher_suite_find(0xc02f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    STR_EQ(cs->kx, "ECDHE");
    STR_EQ(cs->auth, "RSA");
    STR_EQ(cs->cipher, "AES_128_GCM");
    STR_EQ(cs->mac, "AEAD");

    cs = td_cipher_suite_find(0x0039);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_DHE_RSA_WITH_AES_256_CBC_SHA");
    STR_EQ(cs->kx, "DHE");
    STR_EQ(cs->cipher, "AES_256_CBC");
    STR_EQ(cs->mac, "SHA");
    CU_ASSERT_TRUE(cs->is_cbc);
    CU_ASSERT_FALSE(cs->is_export);

    cs = td_cipher_suite_find(0x0003);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_RSA_EXPORT_WITH_RC4_40_MD5");
    STR_EQ(cs->kx, "RSA");
    STR_EQ(cs->mac, "MD5");
    CU_ASSERT_TRUE(cs->is_export);
    CU_ASSERT_FALSE(cs->is_cbc);

    cs = td_cipher_suite_find(0x000a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_RSA_WITH_3DES_EDE_CBC_SHA");
    STR_EQ(cs->cipher, "3DES_EDE_CBC");

    cs = td_cipher_suite_find(0x0000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_NULL_WITH_NULL_NULL");
    cs = td_cipher_suite_find(0xcca8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
    cs = td_cipher_suite_find(0xd005);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256");
    cs = td_cipher_suite_find(0x0088);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA");
}

static void test_cipher_scsv(void)
{
    const struct td_cipher_suite *cs = td_cipher_suite_find(0x00ff);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
    STR_EQ(cs->kx, "SCSV");
    cs = td_cipher_suite_find(0x5600);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
    STR_EQ(cs->name, "TLS_FALLBACK_SCSV");
    STR_EQ(cs->kx, "SCSV");
}

static void test_cipher_unknown(void)
{
    CU_ASSERT_PTR_NULL(td_cipher_suite_find(0x2175));
    CU_ASSERT_PTR_NULL(td_cipher_suite_find(0x0a0a)); // GREASE is not in the registry
    CU_ASSERT_PTR_NULL(td_cipher_suite_find(0xfafa));
    CU_ASSERT_PTR_NULL(td_cipher_suite_find(0xcc13)); // pre-RFC ChaCha20, never assigned by IANA
    CU_ASSERT_PTR_NULL(td_cipher_suite_find(0xffff));
}

/* Every table row is reachable by the binary search, and the table holds exactly the IANA assignments:
 * 0x0000-0x001b, 0x001e-0x0046, 0x0067-0x006d, 0x0084-0x00c7, 0x00ff, 0x1301-0x1305, 0x5600,
 * 0xc001-0xc0b5, 0xc100-0xc106, 0xcca8-0xccae, 0xd001-0xd003, 0xd005 = 350 values. */
static void test_cipher_table_complete(void)
{
    unsigned found = 0;
    for (unsigned code = 0; code <= 0xffff; code++) {
        const struct td_cipher_suite *cs = td_cipher_suite_find((uint16_t)code);
        if (cs == NULL) {
            continue;
        }
        found++;
        CU_ASSERT_EQUAL(cs->code, code);
        CU_ASSERT_FALSE(td_is_grease((uint16_t)code));
        CU_ASSERT_PTR_NOT_NULL(cs->kx);
    }
    CU_ASSERT_EQUAL(found, 350);
}

static void test_grease(void)
{
    static const uint16_t grease[] = {0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a,
                                      0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea, 0xfafa};
    for (size_t i = 0; i < sizeof(grease) / sizeof(grease[0]); i++) {
        CU_ASSERT_TRUE(td_is_grease(grease[i]));
    }
    CU_ASSERT_FALSE(td_is_grease(0x0a1a));
    CU_ASSERT_FALSE(td_is_grease(0x0b0b));
    CU_ASSERT_FALSE(td_is_grease(0x1301));
    CU_ASSERT_FALSE(td_is_grease(0x0000));
}

static void test_versions(void)
{
    char buf[40];
    STR_EQ(td_name_version(0x0002, buf, sizeof(buf)), "SSL 2.0");
    STR_EQ(td_name_version(0x0300, buf, sizeof(buf)), "SSL 3.0");
    STR_EQ(td_name_version(0x0301, buf, sizeof(buf)), "TLS 1.0");
    STR_EQ(td_name_version(0x0302, buf, sizeof(buf)), "TLS 1.1");
    STR_EQ(td_name_version(0x0303, buf, sizeof(buf)), "TLS 1.2");
    STR_EQ(td_name_version(0x0304, buf, sizeof(buf)), "TLS 1.3");
    STR_EQ(td_name_version(0x7f16, buf, sizeof(buf)), "TLS 1.3 draft-22");
    STR_EQ(td_name_version(0x7f1c, buf, sizeof(buf)), "TLS 1.3 draft-28");
    STR_EQ(td_name_version(0x7f0e, buf, sizeof(buf)), "TLS 1.3 draft-14");
    STR_EQ(td_name_version(0xfeff, buf, sizeof(buf)), "DTLS 1.0");
    STR_EQ(td_name_version(0xfefd, buf, sizeof(buf)), "DTLS 1.2");
    STR_EQ(td_name_version(0xfefc, buf, sizeof(buf)), "DTLS 1.3");
    CU_ASSERT_PTR_NOT_NULL(td_name_version(0x0100, buf, sizeof(buf)));
    CU_ASSERT_PTR_NOT_NULL(strstr(td_name_version(0x0100, buf, sizeof(buf)), "DTLS"));
    CU_ASSERT_PTR_NULL(td_name_version(0x0305, buf, sizeof(buf)));
    CU_ASSERT_PTR_NULL(td_name_version(0x0a0a, buf, sizeof(buf)));
    CU_ASSERT_PTR_NULL(td_name_version(0x7f16, buf, 4)); // too small: never a cut name
    CU_ASSERT_PTR_NULL(td_name_version(0x7f16, NULL, 0));
}

static void test_alerts(void)
{
    static const struct {
        int code;
        const char *name;
    } alerts[] = {
        {0, "close_notify"}, {10, "unexpected_message"}, {20, "bad_record_mac"}, {21, "decryption_failed"},
        {22, "record_overflow"}, {30, "decompression_failure"}, {40, "handshake_failure"},
        {41, "no_certificate"}, {42, "bad_certificate"}, {43, "unsupported_certificate"},
        {44, "certificate_revoked"}, {45, "certificate_expired"}, {46, "certificate_unknown"},
        {47, "illegal_parameter"}, {48, "unknown_ca"}, {49, "access_denied"}, {50, "decode_error"},
        {51, "decrypt_error"}, {60, "export_restriction"}, {70, "protocol_version"},
        {71, "insufficient_security"}, {80, "internal_error"}, {86, "inappropriate_fallback"},
        {90, "user_canceled"}, {100, "no_renegotiation"}, {109, "missing_extension"},
        {110, "unsupported_extension"}, {111, "certificate_unobtainable"}, {112, "unrecognized_name"},
        {113, "bad_certificate_status_response"}, {114, "bad_certificate_hash_value"},
        {115, "unknown_psk_identity"}, {116, "certificate_required"}, {120, "no_application_protocol"},
        {121, "ech_required"},
    };
    for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++) {
        STR_EQ(td_name_alert(alerts[i].code), alerts[i].name);
    }
    CU_ASSERT_PTR_NULL(td_name_alert(255));
    CU_ASSERT_PTR_NULL(td_name_alert(-1));
    STR_EQ(td_name_alert_level(1), "warning");
    STR_EQ(td_name_alert_level(2), "fatal");
    CU_ASSERT_PTR_NULL(td_name_alert_level(3));
}

static void test_handshake_types(void)
{
    STR_EQ(td_name_handshake(1), "client_hello");
    STR_EQ(td_name_handshake_display(1), "Client Hello");
    STR_EQ(td_name_handshake_display(2), "Server Hello");
    STR_EQ(td_name_handshake_display(11), "Certificate");
    STR_EQ(td_name_handshake(12), "server_key_exchange");
    STR_EQ(td_name_handshake_display(12), "Server Key Exchange");
    STR_EQ(td_name_handshake_display(13), "Certificate Request");
    STR_EQ(td_name_handshake_display(14), "Server Hello Done");
    STR_EQ(td_name_handshake_display(16), "Client Key Exchange");
    STR_EQ(td_name_handshake_display(20), "Finished");
    STR_EQ(td_name_handshake(TD_HS_HELLO_RETRY_REQUEST), "hello_retry_request");
    STR_EQ(td_name_handshake(TD_HS_SSLV2_CLIENT_HELLO), "sslv2_client_hello");
    STR_EQ(td_name_handshake_display(TD_HS_ENCRYPTED), "Encrypted Handshake Message");
    CU_ASSERT_PTR_NULL(td_name_handshake(99));
    CU_ASSERT_PTR_NULL(td_name_handshake_display(-1));
}

static void test_other_tables(void)
{
    STR_EQ(td_name_content_type(22), "handshake");
    STR_EQ(td_name_content_type(21), "alert");
    CU_ASSERT_PTR_NULL(td_name_content_type(99));
    STR_EQ(td_name_extension(0), "server_name");
    STR_EQ(td_name_extension(43), "supported_versions");
    STR_EQ(td_name_extension(0xff01), "renegotiation_info");
    STR_EQ(td_name_extension(0x3374), "next_protocol_negotiation");
    STR_EQ(td_name_extension(0xfe0d), "encrypted_client_hello");
    STR_EQ(td_name_extension(17513), "application_settings");
    CU_ASSERT_PTR_NULL(td_name_extension(0x0a0a));
    STR_EQ(td_name_group(0x001d), "x25519");
    STR_EQ(td_name_group(0x0017), "secp256r1");
    STR_EQ(td_name_group(0x0100), "ffdhe2048");
    STR_EQ(td_name_group(0x0104), "ffdhe8192");
    STR_EQ(td_name_group(0x6399), "X25519Kyber768Draft00");
    STR_EQ(td_name_group(0x11ec), "X25519MLKEM768");
    CU_ASSERT_PTR_NULL(td_name_group(0x2a2a));
    STR_EQ(td_name_sig_alg(0x0804), "rsa_pss_rsae_sha256");
    STR_EQ(td_name_sig_alg(0x0403), "ecdsa_secp256r1_sha256");
    STR_EQ(td_name_sig_alg(0x0807), "ed25519");
    STR_EQ(td_name_sig_alg(0x0201), "rsa_pkcs1_sha1");
    CU_ASSERT_PTR_NULL(td_name_sig_alg(0xeeee));
}

static void test_name_fmt(void)
{
    char buf[32];
    STR_EQ(td_name_fmt(td_name_extension(0x1a1a), 0x1a1a, buf, sizeof(buf)), "unknown(0x1a1a)");
    static const char alert[] = "alert";
    CU_ASSERT_PTR_EQUAL(td_name_fmt(alert, 21, buf, sizeof(buf)), alert); // a table's name is not copied
    STR_EQ(td_name_fmt(NULL, 7, buf, sizeof(buf)), "unknown(0x0007)");
    /* a name already formatted into buf (td_name_version) is returned as is, not copied onto itself */
    STR_EQ(td_name_fmt(td_name_version(0x7f10, buf, sizeof(buf)), 0x7f10, buf, sizeof(buf)), "TLS 1.3 draft-16");
    STR_EQ(td_name_fmt(NULL, 0x2175, buf, 8), "unknown"); // cut at the buffer, still terminated
}

static void test_kx_kinds(void)
{
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x002f), TD_KX_RSA);   // TLS_RSA_WITH_AES_128_CBC_SHA
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x0003), TD_KX_RSA);   // RSA_EXPORT
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x0039), TD_KX_DHE);   // DHE_RSA
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x0032), TD_KX_DHE);   // DHE_DSS
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x0034), TD_KX_DHE);   // DH_anon: ephemeral, unsigned
    CU_ASSERT_EQUAL(td_kx_from_cipher(0xc02f), TD_KX_ECDHE);
    CU_ASSERT_EQUAL(td_kx_from_cipher(0xc018), TD_KX_ECDHE); // ECDH_anon
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x1301), TD_KX_TLS13);
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x1303), TD_KX_TLS13);
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x008c), TD_KX_PSK);   // PSK
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x0090), TD_KX_PSK);   // DHE_PSK
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x0094), TD_KX_PSK);   // RSA_PSK
    CU_ASSERT_EQUAL(td_kx_from_cipher(0xc035), TD_KX_PSK);   // ECDHE_PSK
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x0030), TD_KX_OTHER); // static DH_DSS
    CU_ASSERT_EQUAL(td_kx_from_cipher(0xc004), TD_KX_OTHER); // static ECDH_ECDSA
    CU_ASSERT_EQUAL(td_kx_from_cipher(0xc01d), TD_KX_OTHER); // SRP
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x00ff), TD_KX_OTHER); // SCSV
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x2175), TD_KX_UNKNOWN);
    CU_ASSERT_EQUAL(td_kx_from_cipher(0x0a0a), TD_KX_UNKNOWN);
}

static CU_TestInfo tests[] = {
    {"cipher_known", test_cipher_known},
    {"cipher_scsv", test_cipher_scsv},
    {"cipher_unknown", test_cipher_unknown},
    {"cipher_table_complete", test_cipher_table_complete},
    {"grease", test_grease},
    {"versions", test_versions},
    {"alerts", test_alerts},
    {"handshake_types", test_handshake_types},
    {"other_tables", test_other_tables},
    {"name_fmt", test_name_fmt},
    {"kx_kinds", test_kx_kinds},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("dissect.names", tests)
