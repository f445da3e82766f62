/* SPDX-License-Identifier: MIT */
/* test_hello.c: ClientHello/ServerHello parsing, extensions, JA3 and JA4 (dissect/hello.c, extensions.c,
 * fingerprint.c). Vectors are handshake message bodies (record and handshake headers removed) taken from
 * the public captures in shared/corpus with `tshark -r FILE -Y frame.number==N -T fields -e tcp.payload`;
 * expected values were read off tshark 4.0 (`-V` and the tls.handshake.* fields, JA3 from
 * tls.handshake.ja3 / ja3_full). JA4 expectations come from the FoxIO JA4.md example, or were computed with
 * Python's hashlib from tshark's field values following JA4.md (noted where so). */
#include "../../../capture/arena.h"
#include "../../../capture/cursor.h"
#include "../../../dissect/digest.h"
#include "../../../dissect/internal.h"
#include "../testlib.h"
#include "fp_of.h"

#include <stdio.h>
#include <string.h>

/* zeek-tls12-dhe-rsa.pcap f4: TLS 1.2 ClientHello, suites 0x0088 0x00ff, extensions 35,13,15. */
static const char CH_TLS12_DHE[] =
    "03035eda80951f7f8ae4d8dd45f31ed2e158f5f9ee676b7cb2c92585d8a3e1c2da7e000004008800ff020100002d0023"
    "0000000d0020001e060106020603050105020503040104020403030103020303020102020203000f000101";

/* zeek-tls12-dhe-rsa.pcap f6: TLS 1.2 ServerHello, 0x0088, extensions 65281,35,15. */
static const char SH_TLS12_DHE[] =
    "0303535c4db35c3660849d1ba4081e9c5863f11c64233c045d58380ea393bdca532200008800000eff01000100002300"
    "00000f000101";

/* zeek-tls13-x25519kyber768-large-ch.pcap f4: Chrome 125 ClientHello (1747 bytes), GREASE, X25519Kyber768. */
static const char CH_TLS13_KYBER[] =
    "030356767d9ae8a843809398310469168e09e8543de551ed52fbd4403dea567ea1c120c72b78a56497f6e8e86debee9e"
    "c616ade6851b0ce90cda4658d36cbed28cafed0020eaea130113021303c02bc02fc02cc030cca9cca8c013c014009c00"
    "9d002f00350100066a6a6a000000230000000d0012001004030804040105030805050108060601000b00020100000a00"
    "0c000acaca6399001d00170018001b0003020002446900050003026832003304ef04edcaca000100639904c0a2778cd4"
    "d2ca31c7120c5b67691a33d480dabe6d387f14cfd82e1aa68547c4180b291697a6c2b16b2b230c64cd97266592673d84"
    "43ccc50f4ae894d5aa9e1ad1c0b01a44ae605f27d47311f117b5bc9dfcc762e612771d5668a73462162b9c580770ad41"
    "7e7b2b8953f50912b67b8b171d6f81615dd94f787a00a8d75a14550c66385437e16a2d43519b9980647520fde07c4038"
    "8a17d4ae8514bf962313b1da12445a911f5a372e49792bcc62d4ac5f41900aafe02ed634245b492e8d8a06e245a64876"
    "78f28c0e0d8c88ad705dee88138e7a31445c9499035b53022abe94802148c8341c3412ea3ed2812c1a841748ca6e2022"
    "bd3e8c740c963fb15467360bc90d05c8e99c76b85b3009a8b864714981533bb7ab6c70e3895e20b6dba6ccb7530a091a"
    "4998dbbff58902b2b66b9690c98f72c4d01526bce1076762a895045e33881d2b85a7ceb95d38602ec099ad0da92339ab"
    "0b4fea051fb8ccf0216b67a02acac71641dc2505e9998f6939dbc63c722539f0226a79e0bc25469b069a8df373402052"
    "41fe5676e6e688f04a3fcdd309f4e65f59a31e3183c0c15b7844b2337827a7d7790ff7ecbfdaea624b4402962794f685"
    "ccb81534ce7a4f54f28b52261ea40769e1bb668c403fe031b5bfe30c74a56d2b013241130e203b8c805c7106767a1bd1"
    "b532d1b22172835adb26caaa95b3ec9b98274a7d434fb3629baefb3aa00184d7bb826ad5975e2b811c81ace1b3050e9a"
    "7e5617a25528274fe963dac029c335066d56cd107bc9ace2815235a20d975271762a34d8c6a46b567fb4538b5515b459"
    "465021ae269770cc9909434082d73400c180961c0a509536b64e3a6a9df31b66a51d5c1cbf788827cb25bbd8f6159392"
    "c5e1ac7607a41199a732e8ebb729f44dcd270f134a578d052537b03547e4787a2680094bb8b6dc16706500d0e455b77b"
    "0d61986ecf4b1fd2e1ad46369b5a67375ff762d2f69fb93330a39323a6b713a19620a9b139c1f27254e408749ca078bc"
    "44598663a87b4b53d20c9c909564b3131be1cd4167b1fe7b3356b629005a1467c9c5701022c2bca78bc81cc1a15f4293"
    "29aea223edea8844e200b781990bc026e059377a840264d9570592a07fc7688916c5eb99ba169b8bbe394844f620ebab"
    "8c70212108b24ca0121c0a7a7dd6877f90e94b3605699a9c1b4607140901955271172f9cab61ea096790016a92905268"
    "799834148d64202ee01beb2886655ab496e4009f263eda3b3bae1086fae7c34a2719a116abb18a9486859b5d93c5d5bb"
    "759805ac924c2a5b846c69860789e18b4e800e2de6b4a4a23a2eca54f2f108d8b4584bd04067774e016923c74249b802"
    "8767d3a0cc891ecd7130cf185b7d68a2bd0b31d7899a0a215542d474ede686e0c8bc1972be2a97cefa49af93265aa6a3"
    "579d527c8ae2a0e2b51ff3971a84dcbaeb4134b4742f3d144c04229dc7e9265ec5cfdde00b513c6b1c81316c71a86385"
    "694a250a1e99c2b5954d309a8e2f77300274a7f875bba2f5734ec05f89e83e4093331cb216300748f33c475ac83f35e2"
    "c077724fdc77a74e292b409897b0f463a490c37b982d0605afb3c113659181150520f0103ba1ca95fca6adc1581dfe46"
    "7f0ce70e6ff7246ac6400723080f161c284128e933924a33c10a89bf874c5f11905084253340c1f20fd87d551cf88bf2"
    "173add13f3b6a3755dd270f1001d00204518f31c6d02159e6f8ea20bd2e325c9d7ad26f38daade6bf959afa516a26e76"
    "0010000e000c02683208687474702f312e31002b0007068a8a0304030300170000ff0100010000050005010000000000"
    "2d00020101fe0d00da000001000102002089384cd8b5a698ff8240d9b5ea186bb1d0e487de252aed9d9a28ea0f0cc2b6"
    "5800b01a472e144587036684e269b294f7c441d993d311dc5f3d15fa9f4850e07ccaf054be940e418a7e0eced0807399"
    "2ca532efdef028349c1507e7bfa77813a8ddaf9bca4acd7093216808e24a39541efc9b73ca33561db210809e582aeafe"
    "7c3ec256ab6b5f3edfcae2365311105389da11ad6099e8adea371d8f9c0b6107bca00c5bc0ca11369dc4957b80d0f222"
    "162e199abdb886d8050c07de1de124d84987eeedca8470250578734ea0526a396dc8160012000000000013001100000e"
    "6c68332e676f6f676c652e636f6d4a4a000100";

/* zeek-tls13-x25519kyber768-large-ch.pcap f6: TLS 1.3 ServerHello, key_share 0x6399 with 1120 bytes. */
static const char SH_TLS13_KYBER[] =
    "03039b737b84a215142d46181d2f70736cbae61f2cae5691c9118c3a9c6b33c51a3a20c72b78a56497f6e8e86debee9e"
    "c616ade6851b0ce90cda4658d36cbed28cafed130100046e00330464639904602bca9ddcfb68965070938f7db0fe7c68"
    "56624696b82fff67b438689b5a27df4b0983fe3014b2dec516304a05a9086b7d7728bf9ad92a1e5b35aeae304874f05e"
    "465bbcb6b12a6181f9afa9f7e5e01289e75de385ada1a33d6d92083ccc5b0ab81b3f32c09856bbc793e6ba3d10fa7b37"
    "bd34b63ef4af6256bb5dd0ed3b3bce3c90fb551f1170dc67d79401b69aafa27260bcce04441c7c151ee42300d50a4688"
    "d6bfaab7170a1cde6112109ceca6a47961537ffc8374a6fd9e019c0099d02b75eb216edab7ecda76bb4cef962d3590cc"
    "65f2a0f4f7e421ba91381685735181e832d1d64ae2e3132ce1154e7e2b7bce7aa6fb5e86d38805e63e751a3ae7bf2392"
    "807bdbeede6c4682d99de4bb128ad9b7cd7d861caac238598bce720f2993009b7cb19d0a4d2f00c8f39319a0dc44d69a"
    "ae1db1e3d6faa18cc511ec40dbcb5b15ace75637d1107898af95666775ff5987ff2c534d1725011da154332a34fc311c"
    "6d138f5f780fa8d674ac7174e4388a61541f4f71c0a21e35c79303b267e726868adb8e3eddb5ef99781678e45732553f"
    "69dbce02c73392acc54a3a889600eba0124ff46a562722541bc065d5e3efe7e81a64957b219cd9074465c99df42d33d6"
    "b36c84367dd73afcbe2747dba96dea08f22fa0ced99ca0ed1ef5d61c5833365b28a56a9036ffcfdc6cd7cd789270385e"
    "9170176dd5cba53226693b0ed0fb8d5130def97d67d5596d479d699525db0070bc00bf7c9ce5b34b2f9067b6e0a38ce2"
    "4e027446c6ee53d18a88f762f0003bdc184294294bfc3f3b5f8c392a122289e04933730e6bf3d5e46fc79539020c2371"
    "162735634b00fde8e4c2b207a15f7b6c938200c5101affc5fefebf255d90eac5ffdf4918545aecd346640959f33a1beb"
    "59ed7cb6306e545a2a2a9035badf63605a5cdf4bc16a06c243571c1c13648b12f7a9d003ca1c714d3504f925bf89fa65"
    "7f5fc617e84a595f574dd6b170a08ddc3a9466305aec9d47439b4d3e9dbc16890dc8d8c1580e0b23edbdfe35cde0ec23"
    "7204f1cd2cefb8341b27797a4a1d4e804164fd5749cc980e3213b34540e82d765dfc6f74702b94bad32f20b91aa3ed19"
    "c6a8b5de6258daca5b9817dbaa4f25803db3b04dd36e9fe148513674064d710dfa13323dd36ed9336e43aeb1364c6915"
    "cc25ea310ced8f40c5d1ae564a2734ffd37d3279e44fdb1278d1f7dcbddd81a395422aa47c12a98cc42cfa1b69a9d5b0"
    "6b5e9342c7e6b4400792c97093088285f668b0c728f270f76669328e3a7e64bfa8d69afcf9ba97ff83e2d39fb5f78b7b"
    "8c0aacf2f790697f8065b4d515f60b35ef2b72ca339a5629a727cd63e831027abfccff0416ff23a8338e644127d4de18"
    "e7b3a182e67903ffec74618a1368d39e6d8cbb397be2158dc3ad7f6de77b22c3a65d4eb433ff7ee0375db0a044d1cb96"
    "c996e1c675b38f32669d6b795058129856b9a7e8a13a2e2b2fd69519818b20922c735681243a0050cac35283ddc6c4e2"
    "bad53093ec10b4a0e2f320d517aed4d9cf8de96e2771b1501b0fa02adeed5d8e5a0fcf6b4dc5048b713303db897f0a5d"
    "002b00020304";

/* zeek-tls13-hrr-out-of-order.pcap f6: HelloRetryRequest, selected_group secp256r1. */
static const char SH_HRR[] =
    "0303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c201a6bb8368add0e28015bd6cced"
    "648236f49e2407f19653ac1fdd1ffa48bfaecd130200000c002b00020304003300020017";

/* sv-tls13-draft22-hrr.pcap f6: draft-22 HelloRetryRequest (key_share as type 40). */
static const char SH_DRAFT22_HRR[] =
    "0303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c1057abcab1619737b457a116f7f2"
    "e1db65130100000c002b00027f16002800020017";

/* sv-tls13-draft22-hrr.pcap f9: draft-22 ServerHello after the HRR. */
static const char SH_DRAFT22[] =
    "0303d105f1e246fb1bb0462adb3aa4fddf63eb215b00441dd7e94343a1479311b6511057abcab1619737b457a116f7f2"
    "e1db65130100004f0028004500170041048f41bf0d37d45b514a371fbcf665d63777df7a9cb9974bfff7434196859070"
    "bd5df74e71483566e8c086977271f1e82f1b60d4e10fde5981a6cd6b9e52bbf0be002b00027f16";

/* zeek-tls13draft16-ff52-unknown-ca.pcap f6: draft-16 ServerHello: version 0x7f10, no session id/compression. */
static const char SH_DRAFT16[] =
    "7f108e013ef70bc663d9dc306362b2f7914bf28dfe4bdc7be5bf9820f6965e34cfd11303006d000d0000002800650018"
    "0061047b6fc2dee05cacee615b2803abc86f0204128502c388627fc1e9f940373356c55fabeb31513a6c96ceb6dead60"
    "e55375503f64e429f07b48ee0ed5680417c9515537c23246e925cdb1d62db3671a9bef64d8335a2d06c9e57d1cb448ef"
    "9c4e02";

/* arkime-pppoe-sslv2hello-sslv3.pcap f4: SSLv2-format CLIENT-HELLO (from msg_type), version SSL 3.0, 17 specs. */
static const char CH_SSLV2_ARKIME[] =
    "01030000330000001000000400000500000a0100800700c0030080000009060040000064000062000003000006020080"
    "040080000013000012000063a108e16bbe46a47c2e696eff96302e2b";

/* sv-sslv2-compat-hello-tls10-dhe.pcap f4: SSLv2-format CLIENT-HELLO, version TLS 1.0, 26 specs. */
static const char CH_SSLV2_SV[] =
    "010301004e000000100100800300800700c0060040020080040080000039000038000035000033000032000004000005"
    "00002f00001600001300feff00000a00001500001200fefe0000090000640000620000030000063143c465d52771e466"
    "a42be1701787fd";

/* mercury-top100-fingerprints-decode-error.pcap f98: pre_shared_key with an empty body (tshark: malformed). */
static const char CH_MERCURY_PSK_EMPTY[] =
    "030337ee8cd80a5eface0e549039fe1de3e271576b7bd8ec0788064d08ec71424b340000220a0a130113021303c02bc0"
    "2fc02cc030cca9cca8c013c014009c009d002f0035000a010000c70a0a000000000013001100000e7777772e676f6f67"
    "6c652e636f6d00170000ff01000100000a000a00080a0a001d00170018000b00020100002300000010000e000c026832"
    "08687474702f312e31000500050100000000000d00140012040308040401050308050501080606010201001200000033"
    "002b00298a8a000100001d0020b148590a6edef9adc493557073aa5f7978318df6adf9982f25adf74d8ec5f67a002d00"
    "020101002b000b0a0a0a0304030303020301001b00030200021a1a00010000290000";

/* ndpi-tls-cipher-lens-malformed.pcap f1: well-formed TLS 1.0 ClientHello. */
static const char CH_NDPI_LENS_1[] =
    "030152efc37bceda522242fc28a2b4f13d3dfb2e1479d1f7064903c9288f9f73d12300004800ffc00ac0140088008700"
    "390038c00fc00500840035c009c007c013c0110045004400330032c00ec00cc004c00200960041002f00050004c008c0"
    "1200160013c00dc003feff000a0100003900000012001000000d7777772e676f6f676c652e6974000a00080006001700"
    "180019000b000201000023000033740000000500050100000000";

/* ndpi-tls-cipher-lens-malformed.pcap f2: cipher_suites length 134, 133 bytes left (tshark: too large). */
static const char CH_NDPI_LENS_2[] =
    "030152efc37bceda522242fc28a2b4f13d3dfb2e1479d1f7064903c9288f9f73d12300008600ffc00ac0140088008700"
    "390038c00fc00500840035c009c007c013c0110045004400330032c00ec00cc004c00200960041002f00050004c008c0"
    "1200160013c00dc003feff000a0100003900000012001000000d7777772e676f6f676c652e6974000a00080006001700"
    "180019000b000201000023000033740000000500050100000000";

/* ndpi-tls-cipher-lens-malformed.pcap f3: cipher_suites length 133 (odd). */
static const char CH_NDPI_LENS_3[] =
    "030152efc37bceda522242fc28a2b4f13d3dfb2e1479d1f7064903c9288f9f73d12300008500ffc00ac0140088008700"
    "390038c00fc00500840035c009c007c013c0110045004400330032c00ec00cc004c00200960041002f00050004c008c0"
    "1200160013c00dc003feff000a0100003900000012001000000d7777772e676f6f676c652e6974000a00080006001700"
    "180019000b000201000023000033740000000500050100000000";

/* ndpi-tls-cipher-lens-malformed.pcap f4: cipher_suites length 132, then an empty compression list. */
static const char CH_NDPI_LENS_4[] =
    "030152efc37bceda522242fc28a2b4f13d3dfb2e1479d1f7064903c9288f9f73d12300008400ffc00ac0140088008700"
    "390038c00fc00500840035c009c007c013c0110045004400330032c00ec00cc004c00200960041002f00050004c008c0"
    "1200160013c00dc003feff000a0100003900000012001000000d7777772e676f6f676c652e6974000a00080006001700"
    "180019000b000201000023000033740000000500050100000000";

/* ndpi-tls-cipher-lens-malformed.pcap f5: cipher_suites length 0, extensions length 65472. */
static const char CH_NDPI_LENS_5[] =
    "030152efc37bceda522242fc28a2b4f13d3dfb2e1479d1f7064903c9288f9f73d12300000000ffc00ac0140088008700"
    "390038c00fc00500840035c009c007c013c0110045004400330032c00ec00cc004c00200960041002f00050004c008c0"
    "1200160013c00dc003feff000a0100003900000012001000000d7777772e676f6f676c652e6974000a00080006001700"
    "180019000b000201000023000033740000000500050100000000";


#define ARENA_CAP (1u << 20)

/* A hello parsed from a hex vector, with its own arena. */
struct parsed {
    struct td_arena arena;
    uint8_t *buf;
    size_t len;
    struct td_client_hello ch;
    struct td_server_hello sh;
};

static void load(struct parsed *p, const char *hex)
{
    memset(p, 0, sizeof *p);
    td_arena_init(&p->arena, ARENA_CAP);
    p->buf = td_test_hex(hex, &p->len);
}

static void unload(struct parsed *p)
{
    td_arena_cleanup(&p->arena);
    free(p->buf);
}

static struct td_cursor view(const uint8_t *buf, size_t len)
{
    struct td_cursor c;
    td_cursor_init(&c, buf, len, 0);
    return c;
}

static enum td_anomaly parse_ch(struct parsed *p)
{
    return td_parse_client_hello(&p->arena, view(p->buf, p->len), 0x0301, &p->ch);
}

static enum td_anomaly parse_sh(struct parsed *p)
{
    return td_parse_server_hello(&p->arena, view(p->buf, p->len), 0x0303, &p->sh);
}

static bool list_is(const struct td_u16_list *l, const uint16_t *want, uint32_t num)
{
    if (l->num != num || (num > 0 && l->v == NULL)) {
        return false;
    }
    for (uint32_t i = 0; i < num; i++) {
        if (l->v[i] != want[i]) {
            return false;
        }
    }
    return true;
}

static void test_client_hello_tls12(void)
{
    struct parsed p;
    load(&p, CH_TLS12_DHE);
    CU_ASSERT_EQUAL_FATAL(parse_ch(&p), TD_ANOM_NONE);
    const struct td_client_hello *ch = &p.ch;
    CU_ASSERT_EQUAL(ch->record_version, 0x0301);
    CU_ASSERT_EQUAL(ch->legacy_version, 0x0303);
    CU_ASSERT_FALSE(ch->sslv2_format);
    CU_ASSERT_EQUAL(ch->session_id_len, 0);
    static const uint16_t ciphers[] = {0x0088, 0x00ff};
    CU_ASSERT_TRUE(list_is(&ch->ciphers, ciphers, 2));
    CU_ASSERT_TRUE(ch->has_scsv_renegotiation);
    CU_ASSERT_FALSE(ch->has_fallback_scsv);
    CU_ASSERT_EQUAL(ch->compression_methods_len, 2);
    static const uint16_t exts[] = {35, 13, 15};
    CU_ASSERT_TRUE(list_is(&ch->extensions, exts, 3));
    static const uint16_t sig_algs[] = {0x0601, 0x0602, 0x0603, 0x0501, 0x0502, 0x0503, 0x0401, 0x0402,
                                        0x0403, 0x0301, 0x0302, 0x0303, 0x0201, 0x0202, 0x0203};
    CU_ASSERT_TRUE(list_is(&ch->sig_algs, sig_algs, 15));
    CU_ASSERT_TRUE(ch->has_session_ticket);
    CU_ASSERT_FALSE(ch->has_renegotiation_info);
    CU_ASSERT_FALSE(ch->has_extended_master_secret);
    CU_ASSERT_PTR_NULL(ch->sni);
    CU_ASSERT_EQUAL(ch->num_alpn, 0);
    CU_ASSERT_EQUAL(ch->supported_versions.num, 0);
    CU_ASSERT_EQUAL(ch->groups.num, 0);
    // tshark tls.handshake.ja3_full / tls.handshake.ja3
    CU_ASSERT_STRING_EQUAL(fp_of(ch)->ja3, "771,136-255,35-13-15,,");
    CU_ASSERT_STRING_EQUAL(fp_of(ch)->ja3_hash, "de84fb3130387884de22865d3d39d347");
    // JA4: hashlib over tshark's fields per JA4.md (no supported_versions: legacy 0x0303 -> "12"; no SNI -> 'i').
    CU_ASSERT_STRING_EQUAL(fp_of(ch)->ja4, "t12i020300_ea1f27bcdcc2_15cf763851c4");
    unload(&p);
}

static void test_client_hello_tls13_grease(void)
{
    struct parsed p;
    load(&p, CH_TLS13_KYBER);
    CU_ASSERT_EQUAL_FATAL(parse_ch(&p), TD_ANOM_NONE);
    const struct td_client_hello *ch = &p.ch;
    CU_ASSERT_EQUAL(ch->legacy_version, 0x0303);
    CU_ASSERT_EQUAL(ch->session_id_len, 32);
    static const uint16_t ciphers[] = {0xeaea, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030,
                                       0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    CU_ASSERT_TRUE(list_is(&ch->ciphers, ciphers, 16)); // GREASE kept as sent
    static const uint16_t exts[] = {27242, 35, 13, 11, 10, 27, 17513, 51, 16,
                                    43,    23, 65281, 5, 45, 65037, 18, 0, 19018};
    CU_ASSERT_TRUE(list_is(&ch->extensions, exts, 18));
    static const uint16_t versions[] = {0x8a8a, 0x0304, 0x0303};
    CU_ASSERT_TRUE(list_is(&ch->supported_versions, versions, 3));
    static const uint16_t groups[] = {0xcaca, 0x6399, 0x001d, 0x0017, 0x0018};
    CU_ASSERT_TRUE(list_is(&ch->groups, groups, 5));
    static const uint16_t formats[] = {0};
    CU_ASSERT_TRUE(list_is(&ch->ec_point_formats, formats, 1));
    CU_ASSERT_EQUAL(ch->sig_algs.num, 8);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ch->sni);
    CU_ASSERT_STRING_EQUAL(ch->sni, "lh3.google.com");
    CU_ASSERT_EQUAL_FATAL(ch->num_alpn, 2);
    CU_ASSERT_STRING_EQUAL(ch->alpn[0], "h2");
    CU_ASSERT_STRING_EQUAL(ch->alpn[1], "http/1.1");
    CU_ASSERT_EQUAL_FATAL(ch->num_key_shares, 3);
    CU_ASSERT_EQUAL(ch->key_shares[0].group, 51914);
    CU_ASSERT_EQUAL(ch->key_shares[0].key_len, 1);
    CU_ASSERT_EQUAL(ch->key_shares[1].group, 25497);
    CU_ASSERT_EQUAL(ch->key_shares[1].key_len, 1216);
    CU_ASSERT_EQUAL(ch->key_shares[2].group, 29);
    CU_ASSERT_EQUAL(ch->key_shares[2].key_len, 32);
    CU_ASSERT_TRUE(ch->has_renegotiation_info);
    CU_ASSERT_TRUE(ch->has_extended_master_secret);
    CU_ASSERT_TRUE(ch->has_session_ticket);
    CU_ASSERT_FALSE(ch->has_pre_shared_key);
    CU_ASSERT_FALSE(ch->has_early_data);
    CU_ASSERT_FALSE(ch->has_scsv_renegotiation);
    CU_ASSERT_STRING_EQUAL(fp_of(ch)->ja3, "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-49172-156-157-47-53,"
                                    "35-13-11-10-27-17513-51-16-43-23-65281-5-45-65037-18-0,25497-29-23-24,0");
    CU_ASSERT_STRING_EQUAL(fp_of(ch)->ja3_hash, "9d33d8206d4fec4c8b1423c728f4cd3c");
    // Chrome's well-known JA4 (the cipher hash is also JA4.md's example); hashlib over tshark's fields agrees.
    CU_ASSERT_STRING_EQUAL(fp_of(ch)->ja4, "t13d1516h2_8daaf6152771_02713d6af862");
    unload(&p);
}

static void test_client_hello_malformed_corpus(void)
{
    struct parsed p;
    load(&p, CH_MERCURY_PSK_EMPTY);
    CU_ASSERT_EQUAL(parse_ch(&p), TD_ANOM_EXTENSION_MALFORMED);
    CU_ASSERT_TRUE(p.ch.has_pre_shared_key);
    CU_ASSERT_EQUAL(p.ch.extensions.num, 17);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p.ch.sni);
    CU_ASSERT_STRING_EQUAL(p.ch.sni, "www.google.com");
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja3_hash, "554719594ba90b02ae410c297c6e50ad"); // tshark
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja4, "t13d1615h2_46e7e9700bed_13c35ee53a8e"); // hashlib, JA4.md
    unload(&p);

    load(&p, CH_NDPI_LENS_1);
    CU_ASSERT_EQUAL(parse_ch(&p), TD_ANOM_NONE);
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja3, "769,255-49162-49172-136-135-57-56-49167-49157-132-53-49161-49159-49171-"
                                     "49169-69-68-51-50-49166-49164-49156-49154-150-65-47-5-4-49160-49170-22-19-"
                                     "49165-49155-65279-10,0-10-11-35-13172-5,23-24-25,0");
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja3_hash, "755cdaa3496eb8728247a639dee17aad");
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja4, "t10d360600_77f462745360_6072aad2e91d"); // hashlib, JA4.md
    unload(&p);

    load(&p, CH_NDPI_LENS_2);
    CU_ASSERT_EQUAL(parse_ch(&p), TD_ANOM_CLIENT_HELLO_MALFORMED);
    CU_ASSERT_EQUAL(p.ch.legacy_version, 0x0301);
    unload(&p);

    load(&p, CH_NDPI_LENS_3);
    CU_ASSERT_EQUAL(parse_ch(&p), TD_ANOM_CIPHER_LIST_ODD);
    CU_ASSERT_EQUAL(p.ch.ciphers.num, 66); // tshark: "Cipher Suites (66 suites)"
    unload(&p);

    load(&p, CH_NDPI_LENS_4);
    CU_ASSERT_EQUAL(parse_ch(&p), TD_ANOM_CLIENT_HELLO_MALFORMED); // empty compression_methods
    CU_ASSERT_EQUAL(p.ch.ciphers.num, 66);
    CU_ASSERT_EQUAL(p.ch.compression_methods_len, 0);
    unload(&p);

    load(&p, CH_NDPI_LENS_5);
    CU_ASSERT_EQUAL(parse_ch(&p), TD_ANOM_CIPHER_LIST_ODD); // zero-length cipher_suites
    CU_ASSERT_EQUAL(p.ch.ciphers.num, 0);
    unload(&p);
}

static void test_server_hello_tls12(void)
{
    struct parsed p;
    load(&p, SH_TLS12_DHE);
    CU_ASSERT_EQUAL_FATAL(parse_sh(&p), TD_ANOM_NONE);
    const struct td_server_hello *sh = &p.sh;
    CU_ASSERT_EQUAL(sh->record_version, 0x0303);
    CU_ASSERT_EQUAL(sh->legacy_version, 0x0303);
    CU_ASSERT_FALSE(sh->is_hrr);
    CU_ASSERT_EQUAL(sh->session_id_len, 0);
    CU_ASSERT_EQUAL(sh->cipher, 0x0088);
    CU_ASSERT_EQUAL(sh->compression, 0);
    static const uint16_t exts[] = {65281, 35, 15};
    CU_ASSERT_TRUE(list_is(&sh->extensions, exts, 3));
    CU_ASSERT_TRUE(sh->has_renegotiation_info);
    CU_ASSERT_TRUE(sh->has_session_ticket);
    CU_ASSERT_FALSE(sh->has_extended_master_secret);
    CU_ASSERT_EQUAL(sh->selected_version, 0);
    CU_ASSERT_EQUAL(sh->key_share_group, 0);
    CU_ASSERT_PTR_NULL(sh->alpn);
    unload(&p);
}

static void test_server_hello_tls13(void)
{
    struct parsed p;
    load(&p, SH_TLS13_KYBER);
    CU_ASSERT_EQUAL_FATAL(parse_sh(&p), TD_ANOM_NONE);
    CU_ASSERT_FALSE(p.sh.is_hrr);
    CU_ASSERT_EQUAL(p.sh.session_id_len, 32);
    CU_ASSERT_EQUAL(p.sh.cipher, 0x1301);
    CU_ASSERT_EQUAL(p.sh.selected_version, 0x0304);
    CU_ASSERT_EQUAL(p.sh.key_share_group, 25497);
    CU_ASSERT_EQUAL(p.sh.key_share_len, 1120);
    static const uint16_t exts[] = {51, 43};
    CU_ASSERT_TRUE(list_is(&p.sh.extensions, exts, 2));
    unload(&p);
}

static void test_hello_retry_request(void)
{
    struct parsed p;
    load(&p, SH_HRR);
    CU_ASSERT_EQUAL_FATAL(parse_sh(&p), TD_ANOM_NONE);
    CU_ASSERT_TRUE(p.sh.is_hrr);
    CU_ASSERT_EQUAL(p.sh.session_id_len, 32);
    CU_ASSERT_EQUAL(p.sh.cipher, 0x1302);
    CU_ASSERT_EQUAL(p.sh.selected_version, 0x0304);
    CU_ASSERT_EQUAL(p.sh.key_share_group, 23); // tshark: "Selected Group: secp256r1 (23)"
    CU_ASSERT_EQUAL(p.sh.key_share_len, 0);
    unload(&p);
}

static void test_server_hello_drafts(void)
{
    struct parsed p;
    load(&p, SH_DRAFT22_HRR);
    CU_ASSERT_EQUAL_FATAL(parse_sh(&p), TD_ANOM_NONE);
    CU_ASSERT_TRUE(p.sh.is_hrr);
    CU_ASSERT_EQUAL(p.sh.session_id_len, 16);
    CU_ASSERT_EQUAL(p.sh.cipher, 0x1301);
    CU_ASSERT_EQUAL(p.sh.selected_version, 0x7f16);
    CU_ASSERT_EQUAL(p.sh.key_share_group, 23); // draft key_share (type 40)
    static const uint16_t hrr_exts[] = {43, 40};
    CU_ASSERT_TRUE(list_is(&p.sh.extensions, hrr_exts, 2));
    unload(&p);

    load(&p, SH_DRAFT22);
    CU_ASSERT_EQUAL_FATAL(parse_sh(&p), TD_ANOM_NONE);
    CU_ASSERT_FALSE(p.sh.is_hrr);
    CU_ASSERT_EQUAL(p.sh.legacy_version, 0x0303);
    CU_ASSERT_EQUAL(p.sh.selected_version, 0x7f16);
    CU_ASSERT_EQUAL(p.sh.key_share_group, 23);
    CU_ASSERT_EQUAL(p.sh.key_share_len, 65);
    unload(&p);

    // draft-16: { version 0x7f10, random, cipher_suite, extensions }: no session id, no compression.
    load(&p, SH_DRAFT16);
    CU_ASSERT_EQUAL_FATAL(parse_sh(&p), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(p.sh.legacy_version, 0x7f10);
    CU_ASSERT_EQUAL(p.sh.session_id_len, 0);
    CU_ASSERT_EQUAL(p.sh.cipher, 0x1303);
    static const uint16_t d16_exts[] = {13, 40};
    CU_ASSERT_TRUE(list_is(&p.sh.extensions, d16_exts, 2));
    CU_ASSERT_EQUAL(p.sh.key_share_group, 24);
    CU_ASSERT_EQUAL(p.sh.key_share_len, 97);
    unload(&p);
}

static enum td_anomaly parse_v2(struct parsed *p)
{
    return td_parse_sslv2_client_hello(&p->arena, view(p->buf, p->len), &p->ch);
}

static void test_sslv2_client_hello(void)
{
    struct parsed p;
    load(&p, CH_SSLV2_ARKIME);
    CU_ASSERT_EQUAL_FATAL(parse_v2(&p), TD_ANOM_NONE);
    CU_ASSERT_TRUE(p.ch.sslv2_format);
    CU_ASSERT_EQUAL(p.ch.legacy_version, 0x0300);
    CU_ASSERT_EQUAL(p.ch.session_id_len, 0);
    // tshark lists 17 specs; the 11 of the form 0x00XXXX are TLS suites.
    static const uint16_t ciphers[] = {0x0004, 0x0005, 0x000a, 0x0009, 0x0064, 0x0062,
                                       0x0003, 0x0006, 0x0013, 0x0012, 0x0063};
    CU_ASSERT_TRUE(list_is(&p.ch.ciphers, ciphers, 11));
    CU_ASSERT_EQUAL(p.ch.extensions.num, 0);
    // JA3 over tshark's spec list (tshark has no JA3 for SSLv2), MD5 by hashlib.
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja3, "768,4-5-10-9-100-98-3-6-19-18-99,,,");
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja3_hash, "35ed9d26feeb821f643139efe2a9a459");
    CU_ASSERT_EQUAL(strncmp(fp_of(&p.ch)->ja4, "ts3i1100", 8), 0);
    CU_ASSERT_EQUAL(strcmp(fp_of(&p.ch)->ja4 + 23, "_000000000000"), 0); // no extensions
    unload(&p);

    load(&p, CH_SSLV2_SV);
    CU_ASSERT_EQUAL_FATAL(parse_v2(&p), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(p.ch.legacy_version, 0x0301);
    CU_ASSERT_EQUAL(p.ch.ciphers.num, 20); // 26 specs, 6 of them SSLv2-only
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja3, "769,57-56-53-51-50-4-5-47-22-19-65279-10-21-18-65278-9-100-98-3-6,,,");
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja3_hash, "716b10339fb8cc7be0f1e2e7187c73e8");
    unload(&p);
}

/* Every proper prefix of a body is malformed; a ClientHello/ServerHello cut exactly where the extensions
 * would start is a legal extension-less hello (RFC 5246 §7.4.1.2), so that one length parses clean. */
static void check_truncations(const char *hex, int kind, size_t ext_start, enum td_anomaly want)
{
    struct parsed p;
    load(&p, hex);
    for (size_t n = 0; n < p.len; n++) {
        // A fresh copy of exactly n bytes, so a read past the prefix is caught by ASan/valgrind.
        uint8_t *cut = malloc(n ? n : 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cut);
        memcpy(cut, p.buf, n);
        enum td_anomaly got;
        if (kind == 0) {
            got = td_parse_client_hello(&p.arena, view(cut, n), 0x0301, &p.ch);
        } else if (kind == 1) {
            got = td_parse_server_hello(&p.arena, view(cut, n), 0x0303, &p.sh);
        } else {
            got = td_parse_sslv2_client_hello(&p.arena, view(cut, n), &p.ch);
        }
        enum td_anomaly expect = n == ext_start ? TD_ANOM_NONE : want;
        if (got != expect) {
            printf("\n  prefix %zu: anomaly %d, expected %d\n", n, (int)got, (int)expect);
        }
        CU_ASSERT_EQUAL(got, expect);
        free(cut);
    }
    unload(&p);
}

static void test_truncations(void)
{
    // Offsets of the extension block from the vectors: version 2 + random 32 + session id 1+n + suites 2+n
    // + compression 1+n.
    check_truncations(CH_TLS12_DHE, 0, 2 + 32 + 1 + 2 + 4 + 1 + 2, TD_ANOM_CLIENT_HELLO_MALFORMED);
    check_truncations(CH_TLS13_KYBER, 0, 2 + 32 + 33 + 2 + 32 + 1 + 1, TD_ANOM_CLIENT_HELLO_MALFORMED);
    check_truncations(SH_TLS12_DHE, 1, 2 + 32 + 1 + 2 + 1, TD_ANOM_SERVER_HELLO_MALFORMED);
    check_truncations(SH_HRR, 1, 2 + 32 + 33 + 2 + 1, TD_ANOM_SERVER_HELLO_MALFORMED);
    check_truncations(SH_DRAFT16, 1, 2 + 32 + 2, TD_ANOM_SERVER_HELLO_MALFORMED);
    check_truncations(CH_SSLV2_ARKIME, 2, SIZE_MAX, TD_ANOM_SSLV2_MALFORMED);
}

/* Byte offsets of the length fields in CH_TLS12_DHE (read off the vector). */
#define DHE_SESSION_ID_LEN 34  /* u8, 0 */
#define DHE_SUITES_LEN 35      /* u16, 4 */
#define DHE_COMPRESSION_LEN 41 /* u8, 2 */
#define DHE_EXTS_LEN 44        /* u16, 45 */
#define DHE_SIGALG_EXT_LEN 52  /* u16, 32: signature_algorithms extension_data */
#define DHE_SIGALG_LIST_LEN 54 /* u16, 30: supported_signature_algorithms */

static enum td_anomaly parse_mutated(size_t at, int width, unsigned value)
{
    struct parsed p;
    load(&p, CH_TLS12_DHE);
    if (width == 1) {
        p.buf[at] = (uint8_t)value;
    } else {
        p.buf[at] = (uint8_t)(value >> 8);
        p.buf[at + 1] = (uint8_t)value;
    }
    enum td_anomaly a = parse_ch(&p);
    unload(&p);
    return a;
}

static void test_length_fields(void)
{
    const enum td_anomaly chm = TD_ANOM_CLIENT_HELLO_MALFORMED, em = TD_ANOM_EXTENSION_MALFORMED;
    CU_ASSERT_EQUAL(parse_mutated(DHE_SESSION_ID_LEN, 1, 1), chm);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SESSION_ID_LEN, 1, 33), chm); // > 32 although the bytes are there
    CU_ASSERT_EQUAL(parse_mutated(DHE_SESSION_ID_LEN, 1, 0xff), chm);

    CU_ASSERT_EQUAL(parse_mutated(DHE_SUITES_LEN, 2, 5), TD_ANOM_CIPHER_LIST_ODD);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SUITES_LEN, 2, 3), TD_ANOM_CIPHER_LIST_ODD);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SUITES_LEN, 2, 0), TD_ANOM_CIPHER_LIST_ODD);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SUITES_LEN, 2, 0xffff), chm);

    CU_ASSERT_EQUAL(parse_mutated(DHE_COMPRESSION_LEN, 1, 3), chm);  // extensions length then overruns
    CU_ASSERT_EQUAL(parse_mutated(DHE_COMPRESSION_LEN, 1, 1), TD_ANOM_TRAILING_BYTES); // empty block, 45 left
    CU_ASSERT_EQUAL(parse_mutated(DHE_COMPRESSION_LEN, 1, 0), chm);
    CU_ASSERT_EQUAL(parse_mutated(DHE_COMPRESSION_LEN, 1, 0xff), chm);

    CU_ASSERT_EQUAL(parse_mutated(DHE_EXTS_LEN, 2, 46), chm);
    CU_ASSERT_EQUAL(parse_mutated(DHE_EXTS_LEN, 2, 44), em); // the last extension's body is cut
    CU_ASSERT_EQUAL(parse_mutated(DHE_EXTS_LEN, 2, 0), TD_ANOM_TRAILING_BYTES);
    CU_ASSERT_EQUAL(parse_mutated(DHE_EXTS_LEN, 2, 0xffff), chm);

    CU_ASSERT_EQUAL(parse_mutated(DHE_SIGALG_EXT_LEN, 2, 33), em);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SIGALG_EXT_LEN, 2, 31), em);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SIGALG_EXT_LEN, 2, 0), em);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SIGALG_EXT_LEN, 2, 0xffff), em);

    CU_ASSERT_EQUAL(parse_mutated(DHE_SIGALG_LIST_LEN, 2, 31), em);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SIGALG_LIST_LEN, 2, 29), em); // odd
    CU_ASSERT_EQUAL(parse_mutated(DHE_SIGALG_LIST_LEN, 2, 0), em);
    CU_ASSERT_EQUAL(parse_mutated(DHE_SIGALG_LIST_LEN, 2, 0xffff), em);
}

/* A synthetic ClientHello: version 0x0303, zero random, empty session id, suites 0x002f and 0x5600,
 * compression {0}, then the given extension bytes (hex) behind a computed length, then tail (hex). */
static enum td_anomaly parse_synthetic(struct parsed *p, const char *ext_hex, const char *tail_hex)
{
    size_t ext_len = 0, tail_len = 0;
    uint8_t *ext = td_test_hex(ext_hex, &ext_len);
    uint8_t *tail = td_test_hex(tail_hex, &tail_len);
    static const char head[] = "0303" "0000000000000000000000000000000000000000000000000000000000000000"
                               "00" "0004002f5600" "0100";
    memset(p, 0, sizeof *p);
    td_arena_init(&p->arena, ARENA_CAP);
    size_t head_len = 0;
    uint8_t *h = td_test_hex(head, &head_len);
    p->len = head_len + 2 + ext_len + tail_len;
    p->buf = malloc(p->len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p->buf);
    memcpy(p->buf, h, head_len);
    p->buf[head_len] = (uint8_t)(ext_len >> 8);
    p->buf[head_len + 1] = (uint8_t)ext_len;
    memcpy(p->buf + head_len + 2, ext, ext_len);
    memcpy(p->buf + head_len + 2 + ext_len, tail, tail_len);
    free(h);
    free(ext);
    free(tail);
    return parse_ch(p);
}

#define EXT_SNI_EXAMPLE "0000 0010 000e 00 000b 6578616d706c652e636f6d" /* host_name "example.com" */

static void test_extension_anomalies(void)
{
    struct parsed p;
    // Duplicate extended_master_secret: recorded, both listed.
    CU_ASSERT_EQUAL(parse_synthetic(&p, "0017 0000" "0017 0000", ""), TD_ANOM_EXTENSION_DUPLICATE);
    CU_ASSERT_EQUAL(p.ch.extensions.num, 2);
    CU_ASSERT_TRUE(p.ch.has_extended_master_secret);
    CU_ASSERT_TRUE(p.ch.has_fallback_scsv);
    unload(&p);

    // supported_groups with an odd list length, then a good server_name: the SNI is still read.
    CU_ASSERT_EQUAL(parse_synthetic(&p, "000a 0005 0003 001d 00" EXT_SNI_EXAMPLE, ""), TD_ANOM_EXTENSION_MALFORMED);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p.ch.sni);
    CU_ASSERT_STRING_EQUAL(p.ch.sni, "example.com");
    CU_ASSERT_EQUAL(p.ch.extensions.num, 2);
    unload(&p);

    // extended_master_secret with a body byte, then ALPN: malformed, the ALPN still parsed.
    CU_ASSERT_EQUAL(parse_synthetic(&p, "0017 0001 00" "0010 0005 0003 026832", ""), TD_ANOM_EXTENSION_MALFORMED);
    CU_ASSERT_EQUAL_FATAL(p.ch.num_alpn, 1);
    CU_ASSERT_STRING_EQUAL(p.ch.alpn[0], "h2");
    unload(&p);

    // Bytes after the extensions block.
    CU_ASSERT_EQUAL(parse_synthetic(&p, EXT_SNI_EXAMPLE, "00"), TD_ANOM_TRAILING_BYTES);
    CU_ASSERT_STRING_EQUAL(p.ch.sni, "example.com");
    unload(&p);

    // An SNI with a non-printable byte is escaped; key_share with an empty key is malformed.
    CU_ASSERT_EQUAL(parse_synthetic(&p, "0000 0008 0006 00 0003 61 0a 62" "0033 0006 0004 001d 0000", ""),
                    TD_ANOM_EXTENSION_MALFORMED);
    CU_ASSERT_STRING_EQUAL(p.ch.sni, "a\\x0ab");
    CU_ASSERT_EQUAL(p.ch.num_key_shares, 0);
    unload(&p);

    // Flags: post_handshake_auth, early_data, pre_shared_key (7-byte identity, 33-byte binder),
    // renegotiation_info; supported_versions with GREASE.
    CU_ASSERT_EQUAL(parse_synthetic(&p,
                                    "0031 0000" "002a 0000" "ff01 0001 00" "002b 0005 04 3a3a 0304"
                                    "0029 002c 0007 0001 61 00000000 0021 20"
                                    "0000000000000000000000000000000000000000000000000000000000000000",
                                    ""),
                    TD_ANOM_NONE);
    CU_ASSERT_TRUE(p.ch.has_post_handshake_auth);
    CU_ASSERT_TRUE(p.ch.has_early_data);
    CU_ASSERT_TRUE(p.ch.has_renegotiation_info);
    CU_ASSERT_TRUE(p.ch.has_pre_shared_key);
    static const uint16_t versions[] = {0x3a3a, 0x0304};
    CU_ASSERT_TRUE(list_is(&p.ch.supported_versions, versions, 2));
    unload(&p);

    // An extension header cut inside the block.
    CU_ASSERT_EQUAL(parse_synthetic(&p, "0017 0000 00", ""), TD_ANOM_EXTENSION_MALFORMED);
    CU_ASSERT_EQUAL(p.ch.extensions.num, 1);
    unload(&p);
}

static void test_no_extensions(void)
{
    struct parsed p;
    load(&p, "0301" "0000000000000000000000000000000000000000000000000000000000000000" "00" "0004002f0035" "0100");
    CU_ASSERT_EQUAL(parse_ch(&p), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(p.ch.extensions.num, 0);
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja3, "769,47-53,,,"); // JA3 definition: empty fields stay empty
    CU_ASSERT_STRING_EQUAL(fp_of(&p.ch)->ja4, "t10i020000_f54dd463d39b_000000000000");
    unload(&p);
}

/* The JA4.md example: 15 suites and 16 extensions plus GREASE, ALPN h2, the eight signature algorithms. */
static void test_ja4_spec_example(void)
{
    uint16_t ciphers[] = {0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                          0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    uint16_t exts[] = {0x2a2a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
                       0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0x3a3a};
    uint16_t sig_algs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    uint16_t versions[] = {0x4a4a, 0x0304, 0x0303};
    char h2[] = "h2";
    char *alpn[] = {h2};
    struct td_client_hello ch;
    memset(&ch, 0, sizeof ch);
    ch.legacy_version = 0x0303;
    ch.ciphers = (struct td_u16_list){ciphers, 16};
    ch.extensions = (struct td_u16_list){exts, 18};
    ch.sig_algs = (struct td_u16_list){sig_algs, 8};
    ch.supported_versions = (struct td_u16_list){versions, 3};
    ch.alpn = alpn;
    ch.num_alpn = 1;
    CU_ASSERT_STRING_EQUAL(fp_of(&ch)->ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");

    // JA4.md: without signature algorithms the string has no '_' and hashes to 6d807ffa2a79.
    ch.sig_algs.num = 0;
    CU_ASSERT_STRING_EQUAL(fp_of(&ch)->ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");

    // JA4.md ALPN rules, values escaped as td_escape_string stores them.
    static const struct {
        const char *alpn;
        const char *want;
    } cases[] = {
        {"\\xab", "ab"}, {"\\xab\\xcd", "ad"}, {"0\\xab", "3b"}, {"01\\xab\\xcd", "3d"},
        {"0\\xab\\xcd1", "01"}, {"http/1.1", "h1"}, {"x", "xx"}, {"\\x5c", "5c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "%s", cases[i].alpn);
        alpn[0] = buf;
        CU_ASSERT_EQUAL(strncmp(fp_of(&ch)->ja4 + 8, cases[i].want, 2), 0);
    }
    ch.num_alpn = 0;
    CU_ASSERT_EQUAL(strncmp(fp_of(&ch)->ja4 + 8, "00", 2), 0);

    // No supported_versions: legacy_version decides; no SNI: 'i'; empty lists hash to zeros.
    ch.supported_versions.num = 0;
    ch.legacy_version = 0x0300;
    ch.extensions.num = 0;
    ch.ciphers.num = 0;
    CU_ASSERT_STRING_EQUAL(fp_of(&ch)->ja4, "ts3i000000_000000000000_000000000000");
    CU_ASSERT_STRING_EQUAL(fp_of(&ch)->ja3, "768,,,,");
}

/* A hello with 3000 suites: the JA3 string is cut in td_fingerprints.ja3 but the hash covers it all; an arena that
 * cannot hold the suite list drops it (ARENA_FULL) while smaller details are kept. */
static void test_large_and_arena_full(void)
{
    enum { NUM = 3000 };
    size_t len = 2 + 32 + 1 + 2 + NUM * 2 + 2 + 2 + 16;
    uint8_t *buf = calloc(1, len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    char *expect = malloc(NUM * 6 + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(expect);
    size_t o = 0, e = 0;
    buf[o++] = 0x03;
    buf[o++] = 0x03;
    o += 32 + 1;
    buf[o++] = (uint8_t)((NUM * 2) >> 8);
    buf[o++] = (uint8_t)(NUM * 2);
    e += (size_t)snprintf(expect + e, 8, "771,");
    for (unsigned i = 0; i < NUM; i++) {
        unsigned suite = 0x0100 + i;
        buf[o++] = (uint8_t)(suite >> 8);
        buf[o++] = (uint8_t)suite;
        if ((suite & 0x0f0f) == 0x0a0a && (suite >> 8) == (suite & 0xff)) {
            continue; // GREASE (RFC 8701): not in JA3
        }
        e += (size_t)snprintf(expect + e, 8, i ? "-%u" : "%u", suite);
    }
    e += (size_t)snprintf(expect + e, 8, ",0,,");
    buf[o++] = 1;
    buf[o++] = 0;
    static const uint8_t sni[14] = {0, 0, 0, 10, 0, 8, 0, 0, 5, 'a', '.', 'b', 'c', 'd'};
    buf[o++] = 0;
    buf[o++] = 14;
    memcpy(buf + o, sni, 14);
    o += 14;
    CU_ASSERT_EQUAL_FATAL(o, len - 2);
    len = o;

    struct td_arena arena;
    struct td_client_hello ch;
    memset(&ch, 0, sizeof ch);
    td_arena_init(&arena, ARENA_CAP);
    CU_ASSERT_EQUAL(td_parse_client_hello(&arena, view(buf, len), 0x0301, &ch), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(ch.ciphers.num, NUM);
    CU_ASSERT_EQUAL(strlen(fp_of(&ch)->ja3), sizeof fp_buf.ja3 - 1);
    CU_ASSERT_EQUAL(strcmp(fp_of(&ch)->ja3 + sizeof fp_buf.ja3 - 4, "..."), 0);
    char md5[33];
    td_digest_md5_hex(expect, e, md5);
    CU_ASSERT_STRING_EQUAL(fp_of(&ch)->ja3_hash, md5);
    CU_ASSERT_EQUAL(strncmp(fp_of(&ch)->ja4, "t12d9901", 8), 0);
    td_arena_cleanup(&arena);

    // One 4 KiB block: the 6000-byte suite list does not fit, the SNI does.
    td_arena_init(&arena, 4096 + 256);
    CU_ASSERT_EQUAL(td_parse_client_hello(&arena, view(buf, len), 0x0301, &ch), TD_ANOM_ARENA_FULL);
    CU_ASSERT_EQUAL(ch.ciphers.num, 0);
    CU_ASSERT_PTR_NOT_NULL(ch.sni);
    CU_ASSERT_TRUE(ch.fingerprint_lost);
    CU_ASSERT_STRING_EQUAL(fp_of(&ch)->ja3, ""); // never a wrong fingerprint
    CU_ASSERT_STRING_EQUAL(fp_of(&ch)->ja3_hash, "");
    CU_ASSERT_STRING_EQUAL(fp_of(&ch)->ja4, "");
    td_arena_cleanup(&arena);

    // Nothing fits at all.
    struct parsed p;
    load(&p, CH_TLS13_KYBER);
    td_arena_init(&p.arena, 0);
    CU_ASSERT_EQUAL(parse_ch(&p), TD_ANOM_ARENA_FULL);
    CU_ASSERT_PTR_NULL(p.ch.sni);
    CU_ASSERT_EQUAL(p.ch.extensions.num, 0);
    CU_ASSERT_EQUAL(p.ch.legacy_version, 0x0303); // scalars are still read
    unload(&p);
    free(buf);
    free(expect);
}

static CU_TestInfo tests[] = {
    {"client_hello_tls12", test_client_hello_tls12},
    {"client_hello_tls13_grease", test_client_hello_tls13_grease},
    {"client_hello_malformed_corpus", test_client_hello_malformed_corpus},
    {"server_hello_tls12", test_server_hello_tls12},
    {"server_hello_tls13", test_server_hello_tls13},
    {"hello_retry_request", test_hello_retry_request},
    {"server_hello_drafts", test_server_hello_drafts},
    {"sslv2_client_hello", test_sslv2_client_hello},
    {"truncations", test_truncations},
    {"length_fields", test_length_fields},
    {"extension_anomalies", test_extension_anomalies},
    {"no_extensions", test_no_extensions},
    {"ja4_spec_example", test_ja4_spec_example},
    {"large_and_arena_full", test_large_and_arena_full},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("dissect.hello", tests)
