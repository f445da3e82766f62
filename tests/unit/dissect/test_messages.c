/* SPDX-License-Identifier: MIT */
/* test_messages.c: Certificate, ServerKeyExchange, ClientKeyExchange and CertificateRequest parsers and the
 * X.509 facts (RFC 5246 §7.4.2-§7.4.7, RFC 8422 §5.4/§5.7, RFC 8446 §4.3.2/§4.4.2, RFC 5280; KB 2801679).
 * Vectors are real handshake bodies cut from the public corpus with tshark (`tshark -q -z follow,tcp,raw,N`,
 * records split by hand; the source is named above each) and certificates generated for this test.
 * Expected values come from tshark's fields (tls.handshake.p_len, ys_len, sig_len, dnames_len, dname_len ...)
 * and `openssl x509`, never from running this code. */
#include "../../../capture/arena.h"
#include "../../../dissect/cert.h"
#include "../../../dissect/internal.h"
#include "../testlib.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------- vectors */

/* ServerKeyExchange, zeek-tls12-dhe-rsa.pcap frame 8 (TLS 1.2, 0x0088 DHE_RSA) (523 bytes) */
static const char SKE_DHE_TLS12[] =
    "0080bbbc2dcad84674907c43fcf580e9cfdbd958a3f568b42d4b08eed4eb0fb3504c6c030276e710800c5ccbbaa89226"
    "14c5beeca565a5fdf1d287a2bc049be6778060e91a92a757e3048f68b076f7d36cc8f29ba5df81dc2ca725ece66270cc"
    "9a5035d8ceceef9ea0274a63ab1e58fafd4988d0f65d146757da071df045cfe16b9b0001020080af5e4cde6c7ac4ad3f"
    "62f9df82e6a378a1c80fccf26abcbd13120339707baae172c0381abde73c3d607c14706bb8ab4d09dd39c5961ea86114"
    "c37f6b803554925a3e4c64c54ed1ba171e52f97fa2df2ef7e52725c62635e4c3ab625a018bfa75b266446f24b8e0c13d"
    "cc258db35b52e8ed5add68ca54de905395304cf3e1eeac0601010018fd31815d4c5316d23bddb61ada198272ffa76ab0"
    "a4f7505b2a232150bd79874a9e5aabd7e39aef8cccdd2eba9cfcef6cc77842c7b359899b976f930e671d9308c3a07eeb"
    "6eaf1411a4c91a3523e4a8a4ccf523df2b70d56da5173e862643ad894495f14a94bda7115cedda87d520e524f917197d"
    "ec625ffa1283d156e39f2daa49424a42aba2e0d0e43ebd537f348db770fe6c901a17432c7dd1a9146a2039c383f293ca"
    "b5b04cb653332454883396863dd419b63745cc65bfc905c06a5d4283f5ff33a1d59584610293a1b08da9a6884c8e6767"
    "5568e2c357b3d040350694c8b1c74c4be16e76eafeb8efe69dc501154fd36347d04ffc0c6e9a5646a1902a"
    ;
/* ClientKeyExchange, zeek-tls12-dhe-rsa.pcap frame 11 (130 bytes) */
static const char CKE_DHE_TLS12[] =
    "0080545ca1e5a9978e411a23f7ce3b50d2919cb7da2dfd4c97d1dd20db9535d6240b684751b08845d44b780750371c5f"
    "229903cf59216bcfbe255de370f9a801177fa0dd11061a0173cd7fe4d740e3a74cc594a8c2510d03039126388730c2c7"
    "3ca0db5fdad2a2021e9ea025b86dc0ba87aea5629246a4cf0f98726fcda9c89d4483"
    ;
/* ServerKeyExchange, zeek-mysql-tls11-dhe-certreq.pcap frame 10 (TLS 1.1, DHE_RSA) (777 bytes) */
static const char SKE_DHE_TLS11[] =
    "0100a1bb7c20c55bc07b218bd6a815fc3bbaab9fdf68c479780dc11264e415c966dbf6cbb339025b7862fb09ae096bdd"
    "d45d97bcdc7fe6d6f1cbf5ebdaa72e5a432be940e285001cc00a9877a931de0b754d1e1f1683cadebd21fcc182373633"
    "0b66063cf3af21575780f6941ba9d4f68f18620ec422f95b62cc3f1995cf4b00a66c0baf9fd5fa3d6dda30830791ac15"
    "ff8f5954ea25bc4eeb6a54df7509720fef2370e0a804eaff9054cd8418c07591990fa1780c07b7c5de55067b95682c33"
    "39bc2cd06dddfadcb58f8239f86744f1d8f778119a779b5347d62b5d67b8b7bcc1d7796215c2c58397a7f8b49cf68f9a"
    "c7da1bbb8707a771adb28a50f82612b73e0b00010201009f8f8f09aa8f0afb7af9b4538d4f8390473a1289fe7c6f4244"
    "df9e8c0d24f414b1b53222baa441bc8fd4d0a26555be52d2409346d01af8a7767636d302fe0c2c349aa73343e333bbd4"
    "fe8a915ffebc5df3800028a4264389b5cf5ed1074caf8991ba8f82f415459c4ecd8f4a9d6220fa496b1806288d246acd"
    "27b12a3a5776ffdc36f53ac9bf983e42f7b6645372c7f2d89a72eea25c8ebe1293878b6e6269b54975b8103e9811430b"
    "8e9dc721fe6db488609d6c09ddc3264d816e63abe1bc6784fda94339dc72e771f18eb1e0d356bbbe7ed6b23993a67f01"
    "c010db1174434995541f3e0c5d3e4e6a56ad40cfbaaf8b4ff4afe010cf2fe432c8e62ebac5f3a001000a83eef0a44c79"
    "add3701bb55215992fe282239604b2f304c959df1a0b163a23a32daf7b1bf79a16fb53f39d2ae932386c88425ef53141"
    "cea17b64147da478429a66b26a19fdc05ec673466d4e65c2032fc62e611d6e4365fd9387f240a025bad0c2c3b2050bb5"
    "09e8709ecaabc50f330557ca11f9c7794a8a074c2440dd051404765dd4dc3b0e1a19e5a6a33b41c899f58650525ef3ed"
    "c8b6bad1321191fd4a67eeaa3e99a4d93b0864d8c4643ff39b829279f906985af4665e8de3a0e013903d943034736bf6"
    "17ae2bb4a247eba8ee4aebbe27831827ab3a3c7c3995d36d7cc3c23d2285491f5bde2a2c3dc01a6e20297a443d1ddcbc"
    "5fa7bea0f3ceb7c1cf"
    ;
/* ClientKeyExchange, zeek-mysql-tls11-dhe-certreq.pcap frame 12 (258 bytes) */
static const char CKE_DHE_TLS11[] =
    "010085923a1a29176a1eddc41592672dd38aa031ba6d06a80fd42e25e680a579899e970f3859fb10654e4853c86cbc0d"
    "b156c9e5ebec3a0f803ed24ea5fc0651f1e7af79261c145a65255f07368ddd3abfb2979cc8afb868087cc24a77d940e9"
    "47047db0fdb9ca5820fa0dfac668f6e925539d9bc694d96eba91437aef4c59d3274eddbb5bfacab3691f4d5ed8180bd9"
    "72e0fdbb28596e1fad0b536dffa095e45ae18df37eba942e6ac309a527807e9b34d1f2c2981ea28cc9310497069dc6e1"
    "24db1d06bc294da2d897ed6579533361563016f1dda5a858cf876146f0cb5a7dd81535f2c05f99b9c510efaa3d34eb9e"
    "239e97473522b228dd9a618e2ecba5801990"
    ;
/* ServerKeyExchange, zeek-smtp-starttls.pcap frame 16 (TLS 1.2 ECDHE_RSA) (329 bytes) */
static const char SKE_ECDHE_TLS12[] =
    "0300174104306603f53890f70d17ee1c712ea991bab9cbebc39e64f308d044227afa514f59f6db04595db34f95fe3806"
    "6d20df4b404fa55e8e13d611731d3705d7077e8dd0060101005dd28a9b926e4047f0b1c8aad230328b5b5fec027c9ace"
    "09b2a430467eda2e5e7b112abf01a76f58e067b5a4e4101e6bc86aee9ef4688a0716c4530e9dc42421f74b172ee12c83"
    "8ee9f32e6cda59375d6a07c849ef17a665cdb0204bacb8bd2c4730a80ab13a0112c828c1508c4edeb989c03b7c2c6dae"
    "3c7c4ae094621c95ef8490d5e2990fb3752e3d9d54d3b26c83f8a8504af6c5ac23636160f6e6406cc36f24ea88023693"
    "28314a2b44d73aef07bafe27cc31f8638eb7cfdf80554bf48c88a4366d61ab20d10948cff889cf955c2e16a87534fdfa"
    "1989a58266145ef58be4cbecf0ed925762ba4cea54e903e1a14a9e2748a4f341abe6a131c7aa2d2c22"
    ;
/* ClientKeyExchange, zeek-smtp-starttls.pcap frame 20 (66 bytes) */
static const char CKE_ECDHE_TLS12[] =
    "4104400da74aaac6e3a4e49b0aba987e3ea9f310175022fb73b54a76b623801d8dea07b66407932f54a6bacef0253929"
    "12d57a7634dd207d69ba1d4e7f4f64b1156f"
    ;
/* ClientKeyExchange, zeek-irc-starttls-sll.pcap (TLS 1.2 RSA, 4096-bit key) (514 bytes) */
static const char CKE_RSA_TLS12[] =
    "0200074ee2ff27979a0d5cb0045a22e15fc05f410a01ab18090659e2c4118a843af309ba9f1799a82beab4a4356d503b"
    "4a2005e8ff23e102ab0048a8867a19ae99c8e8e96f672a9190268171c4ba81c6af65dfcbd320a3e7f67e647238ba1b71"
    "e713aac541609d3dddbb6b34acba6ce5fb6178c29e2f7962fd44bff4896aa45e4899f928d9ae1d2e0d0d600c0936ab8e"
    "5ab8804fa50aeac8f41ec09b7087c462dad18e1a892cb72e651bf09184d0d79c38776183d488ebf4e77a733b169ca116"
    "9474f41b7ec5c7001e7495df403d39ceb1427dd954f12571df7baa95cb364ac4f174daec17b016319eb84e69ad267ce4"
    "a1136da3c73bc5a6bd9fa0581f62e8628c13146cf42d8891005d1a3327821b8e62d303bfc807365cd4c3e00e49ed9d55"
    "6282279ac1d93052178cce2fdd57950fad069808b51d797e2b12034a87153ecae4e4a5c5a9677d86598a76f02e6ca9f5"
    "f0dca3055811a369e4cff0a3b5801017711b1dff2194a1ba27629b670463a895e5696cdfb18b777dacc5d659bebc5591"
    "bec6784a9a011388bc3671fd68c404ca14f5c4fa0f67fc5db3d9e7dbdfd193025324a07851078eac2a0d091dd34a0b88"
    "813a1d86b7af93122dd0e6b4dc7cd6e833078546d73bfd1eabff524b03c6fec97c4c124f78c3314cd814ef5bce5a6af6"
    "50c941daa82ecd05716c25196c45418791e6252587cd9b1178906439d098fafc9307"
    ;
/* CertificateRequest, ndpi-anyconnect-certreq-large-ca-list-dtls.pcap frame 69 (TCP stream 6, TLS 1.2) (1166 bytes) */
static const char CR_ANYCONNECT[] =
    "020140000e060106030501050304010403020104790075307331133011060a0992268993f22c6401191603636f6d3116"
    "3014060a0992268993f22c640119160676696173617431143012060a0992268993f22c6401191604636f727031123010"
    "060a0992268993f22c64011916026871311a3018060355040313115669617361742053484120322043412d3300753073"
    "31133011060a0992268993f22c6401191603636f6d31163014060a0992268993f22c6401191606766961736174311430"
    "12060a0992268993f22c6401191604636f727031123010060a0992268993f22c64011916026871311a30180603550403"
    "13115669617361742053484120322043412d320075307331133011060a0992268993f22c6401191603636f6d31163014"
    "060a0992268993f22c640119160676696173617431143012060a0992268993f22c6401191604636f727031123010060a"
    "0992268993f22c64011916026871311a3018060355040313115669617361742053484120322043412d310021301f311d"
    "301b0603550403131456696173617420534841203220526f6f7420434100c13081be310b300906035504061302555331"
    "163014060355040a130d456e74727573742c20496e632e31283026060355040b131f536565207777772e656e74727573"
    "742e6e65742f6c6567616c2d7465726d7331393037060355040b1330286329203230303920456e74727573742c20496e"
    "632e202d20666f7220617574686f72697a656420757365206f6e6c793132303006035504031329456e74727573742052"
    "6f6f742043657274696669636174696f6e20417574686f72697479202d20473200bd3081ba310b300906035504061302"
    "555331163014060355040a130d456e74727573742c20496e632e31283026060355040b131f536565207777772e656e74"
    "727573742e6e65742f6c6567616c2d7465726d7331393037060355040b1330286329203230313220456e74727573742c"
    "20496e632e202d20666f7220617574686f72697a656420757365206f6e6c79312e302c06035504031325456e74727573"
    "742043657274696669636174696f6e20417574686f72697479202d204c314b00b33081b0310b30090603550406130255"
    "5331163014060355040a130d456e74727573742c20496e632e31393037060355040b13307777772e656e74727573742e"
    "6e65742f43505320697320696e636f72706f7261746564206279207265666572656e6365311f301d060355040b131628"
    "6329203230303620456e74727573742c20496e632e312d302b06035504031324456e747275737420526f6f7420436572"
    "74696669636174696f6e20417574686f7269747900b83081b5310b300906035504061302555331173015060355040a13"
    "0e566572695369676e2c20496e632e311f301d060355040b1316566572695369676e205472757374204e6574776f726b"
    "313b3039060355040b13325465726d73206f66207573652061742068747470733a2f2f7777772e766572697369676e2e"
    "636f6d2f727061202863293130312f302d06035504031326566572695369676e20436c61737320332053656375726520"
    "536572766572204341202d204733"
    ;
/* CertificateRequest, sv-tls12-client-auth-loopback-ipv6.pcap frame 7 (TLS 1.2) (146 bytes) */
static const char CR_CLIENT_AUTH[] =
    "03010240001e060106020603050105020503040104020403030103020303020102020203006c006a3068310b30090603"
    "550406130248553111300f06035504080c0842756461706573743111300f06035504070c084275646170657374311e30"
    "1c060355040a0c15544c53436c69656e744175746853616d706c6543413113301106035504030c0a53616d706c65526f"
    "6f74"
    ;
/* CertificateRequest, ppp-ssl-multiple-records-dhe-certreq.pcap frame 1 (TLS 1.0) (115 bytes) */
static const char CR_TLS10[] =
    "020102006e006c306a310b3009060355040613025553311330110603550408130a57617368696e67746f6e3116301406"
    "0355040a130d4875627370616e2c20496e632e31143012060355040b130b446576656c6f706d656e7431183016060355"
    "0403130f68733030313234342e68732e636f6d"
    ;
/* CertificateRequest, zeek-mysql-tls11-dhe-certreq.pcap frame 10 (TLS 1.1, no CA names) (5 bytes) */
static const char CR_TLS11_EMPTY[] =
    "0201020000"
    ;
/* client Certificate, sv-tls12-client-auth-loopback-ipv6.pcap frame 9 (TLS 1.2) (918 bytes) */
static const char CERT_CLIENT[] =
    "0003930003903082038c30820274a003020102020900c7d4288b80e01e27300d06092a864886f70d01010b0500306831"
    "0b30090603550406130248553111300f06035504080c0842756461706573743111300f06035504070c08427564617065"
    "7374311e301c060355040a0c15544c53436c69656e744175746853616d706c6543413113301106035504030c0a53616d"
    "706c65526f6f74301e170d3138303431343230353532375a170d3138303531343230353532375a3072310b3009060355"
    "0406130248553111300f06035504080c0842756461706573743111300f06035504070c08427564617065737431223020"
    "060355040a0c19544c53436c69656e744175746853616d706c65436c69656e743119301706035504030c1053616d706c"
    "65436c69656e744a616e6530820122300d06092a864886f70d01010105000382010f003082010a0282010100a34e2fbd"
    "7e21613c25b79c71bbb2079f957c732c932084ec30f025cf64d167382f5365fc39dbf6914a8d2fdb9f5023bc8101a6fe"
    "33dd65c2b63526c62c0adb149f825fe93c8669fd9bada0cffa280ec039abd9d7febaa17732de8ef14bf0e29c431bd236"
    "f50c72e46c4d1fd1ec3147958b5bf00afc6356050c9ab35cde2bd143ce0665d0664bfa3dcb1c4d2dc5406fcb6ed1d7e3"
    "0016c00871bb0bf2d6fb404ff4326bd1d3050822a3811c1a757f2a2c62d7efb17c4a5b071f5213327baa2344554e7922"
    "bc42d354e9d0ab5d5c2d9ba222436524a690f56ee079999a237418b0a5da689a8fbd3abb346119f8ec139edb773a6728"
    "9c3381d51c8ca47ff4e5fe890203010001a32f302d300c0603551d130101ff04023000301d0603551d0e04160414fad4"
    "fb58b24569650a6953ce5e3efba2ea80464b300d06092a864886f70d01010b050003820101004d46a3ec36f1bad99cb7"
    "7891ada165cc6b85d41b406665cc31477409703cbe6b7b330ca891e929bc20b1a99a49270e95a46a27275cdb76f4daa3"
    "bba19fa6a68bfc860e82cdafd1ac64e8f1dec8817ca938fdff34210353121dce645482b782179ca6163bf48306d72938"
    "7718bcf81966c8cc73e85b1be8a9ec74ac532f9063ff92d7e62440f1b0e2a303d95c1bb387c96c648d98aa520c794f89"
    "06224f102204e6e91dedbeec2c05d98263547e7838abb8132ae7353e5649db5043f342467f2dd288a87f8f2989f18779"
    "b5e0e5a31198230dba5a648bb30200d4fb8aa5eb14c74275f4c5253b03602f52e0225e8811f5141f753268ff9529ff4e"
    "f64c908cfef5"
    ;
/* server Certificate, sv-tls12-client-auth-loopback-ipv6.pcap frame 7 (two certificates) (1857 bytes) */
static const char CERT_SERVER_CHAIN[] =
    "00073e0003af308203ab30820293a003020102020900c7d4288b80e01e25300d06092a864886f70d01010b0500306831"
    "0b30090603550406130248553111300f06035504080c0842756461706573743111300f06035504070c08427564617065"
    "7374311e301c060355040a0c15544c53436c69656e744175746853616d706c6543413113301106035504030c0a53616d"
    "706c65526f6f74301e170d3138303431343230353532375a170d3138303531343230353532375a306e310b3009060355"
    "0406130248553111300f06035504080c0842756461706573743111300f06035504070c08427564617065737431223020"
    "060355040a0c19544c53436c69656e744175746853616d706c655365727665723115301306035504030c0c53616d706c"
    "6553657276657230820122300d06092a864886f70d01010105000382010f003082010a0282010100a267679d24d01364"
    "148fb5c8340887f4ecb0ba8c1b19b23f2859de4fc76d5a1fbaf74b94dee2bea7014f8d07b5d0a42e0cf3799a8af4aefe"
    "d376c5a0723a8ff2d34157ad4efdfa9ed949a31b7f46e00a7e0f97ba4c6990c62419ca7eaef796a7c8322f518395345a"
    "0d4a02d2d6cc7ea1fdfa607e8ac32064cae989d08d3bf881e7f184f1e8089118bba706f1128e0f885e2539925c60ca46"
    "bb7bdf9a11a7e4c72ddb240832987c5f708f9090c390952a9923aad3291ad7b0ef367aea3af13b74793ace47d179859f"
    "105f98c1626a6ca2ba455e35af384d23c64eff50eb3d23b8c09c319db05106bcd14a9e1798066629014737ec5a286320"
    "0e2faf4a76e952d30203010001a3523050300c0603551d130101ff0402300030140603551d11040d300b82096c6f6361"
    "6c686f7374301d0603551d0e04160414c8edd5ed2a942d3549c12c52d547bcbd365ca01d300b0603551d0f0404030205"
    "e0300d06092a864886f70d01010b05000382010100495b16a40d945a4f2cd6e6de90fe72a5371192dd1bdc7fcc78ab43"
    "5e5e2fffdc5bf35c40b7b8a9d42c7daed1973df672f6aa0abc7c538a06628bea2ec055ab02aec9968f9674a5c0c6b6d6"
    "b090ce1a1e5d7321c3e8b74a926900b598b97055436c1eff88d07b3962e26e04103ef974ac08ba9785042ba8a98f51d4"
    "0ab81818a758632928c9cd45b871d7a90cf5a05fef38132cf0ab87d7ae1aa1dba609a4b37d113858ffa9438f026750d8"
    "7f9cc6a268f56e7de6301c3955e1521320a36bf422bcdc60595973553d648ffb382e96962d480490d1187536dafeff62"
    "47c5452bf7a4d31036c4331e4c5dff5fdadb9a17a12f564ce2b539a536ce68ff87922dc2e9000389308203853082026d"
    "a003020102020900b066f1fedd4ab8c3300d06092a864886f70d01010b05003068310b30090603550406130248553111"
    "300f06035504080c0842756461706573743111300f06035504070c084275646170657374311e301c060355040a0c1554"
    "4c53436c69656e744175746853616d706c6543413113301106035504030c0a53616d706c65526f6f74301e170d313830"
    "3431343230353532375a170d3139303431343230353532375a3068310b30090603550406130248553111300f06035504"
    "080c0842756461706573743111300f06035504070c084275646170657374311e301c060355040a0c15544c53436c6965"
    "6e744175746853616d706c6543413113301106035504030c0a53616d706c65526f6f7430820122300d06092a864886f7"
    "0d01010105000382010f003082010a0282010100a6f14d5765346d3b8d4e74281d554718ab07321b1c0c461fb918f8ca"
    "1588e02a699aecbb32851bbe80d524971907173c01431edc8fba2c887f46225967a21b9a74960f5488cf77c3e843a800"
    "991dc646a17207007dd8ba85b9771175ff667b96df434eb7f3edf037a8baf6d0eba29ac64dd345b197ed3a9439e7cc19"
    "b85af9349977b3876eaed884258735c5be71f6e079045985466132944d00a11f72129e1aeb912ba9369144e46a4b2215"
    "deb6e90862cff94cb2685310615c2a4eeab52548b218b7fa70ae865da5d29b6314d9659089f34a8e721e4aafe6fedb25"
    "7b96763fa869b6b897eda2206a4e2cfef5b125cd326889c46c08b6f43beab7920b5f02690203010001a3323030300f06"
    "03551d130101ff040530030101ff301d0603551d0e04160414737ec08249c7dde09729c76166b5600e4d6d7597300d06"
    "092a864886f70d01010b050003820101005ef9b8338970d92a16508aed26be475ed830fedd6d0b8ac689aa8bb274d7e7"
    "5c3bd87d94030b5ca2406aebbc4740eb94f9f06809134359e8448c036e52340eb997869a2015802c09fb3757eeec0fbe"
    "80b9eb996447c09b4775bd461629abf906700e9f8517f4d28134732acc7cc46725126a6872bc546ffc46e33442cb8364"
    "6a67d2814972dc7d8193e9c514cbb7d0aa406519b45a88f1e84e4446040c7748c4b5e42c0a76da5fe26e93eeaa1db2cd"
    "370f46ab205ae4e053a4ab23cccb0c9f1d3ad6c8c5f970a145a294c639c78c2e5c0b6ab3c1cdbbffc473e156b0e39a9d"
    "d4c6cd14dfe670d1c82ff0252f4dfac46fdde123ee2a87bc52263902ba607e7c19"
    ;
/* client Certificate with no certificates, zeek-irc-starttls-sll.pcap (3 bytes) */
static const char CERT_EMPTY[] =
    "000000"
    ;
/* DER generated with python3-cryptography 38 (expectations from `openssl x509 -nameopt RFC2253`): leaf (494 bytes) */
static const char DER_LEAF[] =
    "308201ea3082016fa003020102020500c0ffee01300a06082a8648ce3d040302303b310b300906035504061302555331"
    "10300e060355040a0c07746c7364696167311a301806035504030c11746c7364696167205465737420526f6f74301e17"
    "0d3234303130313030303030305a170d3334303130313030303030305a30333119301706035504030c107777772e6578"
    "616d706c652e7465737431163014060355040a0c0d4578616d706c652c20496e632e3059301306072a8648ce3d020106"
    "082a8648ce3d0301070342000465d5b0836c8754b6bd44bd2d35b40203ff8c14a51e2624570ded309bc3b0f403b6e569"
    "1a8fb9fad4de9e303fa97346504497828955c59384e903d04fc7a88e26a368306630410603551d11043a303882107777"
    "772e6578616d706c652e74657374820c6578616d706c652e746573748704c0000207871020010db80000000000000000"
    "0000000130130603551d25040c300a06082b06010505070301300c0603551d130101ff04023000300a06082a8648ce3d"
    "0403020369003066023100ba785299c4f78a9ca354eeba1b8283e3f9336aedf6e65298dfcc5a841501ca43fcdfa53111"
    "25199b017e5778a5684887023100a9174580133189bd34bc3f7a31be58f72b355dbc32cfe76e5d7f6f008b2c1cf1b855"
    "6e3b7d73db2961673c6e6839d1fe"
    ;
/* DER generated with python3-cryptography 38 (expectations from `openssl x509 -nameopt RFC2253`): ca (441 bytes) */
static const char DER_CA[] =
    "308201b53082013ba003020102020101300a06082a8648ce3d040303303b310b30090603550406130255533110300e06"
    "0355040a0c07746c7364696167311a301806035504030c11746c7364696167205465737420526f6f74301e170d323030"
    "3130313030303030305a170d3430303130313030303030305a303b310b30090603550406130255533110300e06035504"
    "0a0c07746c7364696167311a301806035504030c11746c7364696167205465737420526f6f743076301006072a8648ce"
    "3d020106052b81040022036200049df4f2471eb887afbc957fe3b17b2c0aeea9f6d53881434e9361f398aedeefb87af9"
    "2da277575a3b7fb2e1fdf697e27be840852b01780aea890f5242677a2264e0e4ec720e0f776656bb66957e3a1ae3f1bd"
    "961501dee04e44ee1969f22cac66a3133011300f0603551d130101ff040530030101ff300a06082a8648ce3d04030303"
    "6800306502307787fa67bab44cb07f056c6790610ae07422ea76974c0c2301a8c72180b226e4dcaa3171c072e408f7ab"
    "9ccbd0ab0d85023100d7ae32950efdcb09ae8a0f9f160a8d0260a3f82d0d35b625ccfa6bd53bf2c03a1c808f4c5adf0c"
    "b61ab1d3ece1f056a0"
    ;
/* DER generated with python3-cryptography 38 (expectations from `openssl x509 -nameopt RFC2253`): expired (715 bytes) */
static const char DER_EXPIRED[] =
    "308202c7308201afa003020102020102300d06092a864886f70d01010b050030153113301106035504030c0a6f6c6420"
    "636c69656e74301e170d3130303130313030303030305a170d3131303130313030303030305a30153113301106035504"
    "030c0a6f6c6420636c69656e7430820122300d06092a864886f70d01010105000382010f003082010a0282010100857f"
    "6990ba410e8add0f088e65e33d51c4b061ac4d05f61d53ddbbf916195a6bc270a00d31819143cb33b1244bf10ef36ced"
    "5530d13330abe4707584718e81f2969ac1b2bd0aafebb2f360390aa7639184f48172ef3c0fa66eb67ffa7c49725e18df"
    "73cb066f93868939fc3786e79df791b91d7046da1fc62706f82754a25fc2c1f6d30829042f28dbb5dbddd882ac7579f5"
    "a96ab545bf7e21ba176307ab7147a6a2f662d363556036a38adf5d1d75d309f03618c763c3a74fb3a472ca10b78ceeb9"
    "07242d9441f9e22b82560fcbfa6fee95fdfe792ed205abe9a7fed197c731ba5436e3278febf0035510deebbba1e4550d"
    "56e8c87308c382cf3de83eff45eb0203010001a3223020301e0603551d250417301506082b0601050507030206092b06"
    "010401868d1f01300d06092a864886f70d01010b0500038201010058e54d88922e92093d50b2612116546462d210edf2"
    "a71fd687773d077a002ca8c2fed7aaf9df97eac04be72da51b056c2f4be138af49c949d8ed837f930c362d199e918ace"
    "cf3106254520a7b8063afe1bef95dd69427a01232e1bdbf902d2a356206d157fdce0321e42a10b199a758fd054efae7a"
    "8430d15d0c62bb02fd04df4b1d81234f2a074fb675a55a88f6128d10075e9f270ddd2e3a87891765cceda14c90c8b54e"
    "b1182a5528d0ec901df590ff7671c496bde79ef52c2a0b05aaa8c163b17b3c2980511e7fff51a2ecb22068ba0b27c872"
    "731bacb80b546c1ad0fe4897431843bc508e390b587cb8d026dd09bf085afd8e3c8531509f691c30c569e6"
    ;
/* DER generated with python3-cryptography 38 (expectations from `openssl x509 -nameopt RFC2253`): rollover (307 bytes) */
static const char DER_ROLLOVER[] =
    "3082012f3081d7a003020102020103300a06082a8648ce3d04030230163114301206035504030c0b526f6c6c6f766572"
    "204341301e170d3230303130313030303030305a170d3330303130313030303030305a30163114301206035504030c0b"
    "526f6c6c6f7665722043413059301306072a8648ce3d020106082a8648ce3d0301070342000406e8feafa9b67e8e83c6"
    "011426875941ea9174dcf45b82ec039d5cef10062fc02b0362124fbc5ac555db77a51e3cd5e6e3ebb5de3e9d9802dfd7"
    "8f8dc3566d39a316301430120603551d130101ff040830060101ff020100300a06082a8648ce3d040302034700304402"
    "2047c238aa6be58fbc93df5c085f0e404320082cea0d61df33c6b517b72b955ee70220150cc9223ba9c0846fc37e7f1d"
    "cd165d50bf1891acbbadf3d9af2a07d7922c32"
    ;
/* DER generated with python3-cryptography 38 (expectations from `openssl x509 -nameopt RFC2253`): ed (221 bytes) */
static const char DER_ED25519[] =
    "3081da30818da003020102020104300506032b657030173115301306035504030c0c656432353531392e74657374301e"
    "170d3232303630313030303030305a170d3332303630313030303030305a30173115301306035504030c0c6564323535"
    "31392e74657374302a300506032b6570032100adc99efd72d13d862569d90ef8db0af607b17ff290e737d8b543dee9d8"
    "1baf25300506032b657003410076f40562d2ee3ae6417e74e6eab645545ef4ba6476975c41ada3ab499206b7a8ee04be"
    "39acf892a1784a20bc808013df1bc7d9fc27957e26d991b031c4c0e100"
    ;

#define ARENA_CAP (1024u * 1024u)

/* A decoded vector and a cursor over it. */
struct vec {
    uint8_t *p;
    size_t len;
};

static struct vec vec_hex(const char *hex)
{
    struct vec v;
    v.p = td_test_hex(hex, &v.len);
    return v;
}

static struct td_cursor vec_cursor(const struct vec *v, size_t len)
{
    struct td_cursor c;
    td_cursor_init(&c, v->p, len, 1000);
    return c;
}

static struct td_cursor whole(const struct vec *v) { return vec_cursor(v, v->len); }

/* ---------------------------------------------------------------- ServerKeyExchange / ClientKeyExchange */

static void test_ske_dhe_tls12(void)
{
    struct vec v = vec_hex(SKE_DHE_TLS12);
    struct td_kx_facts kx;
    memset(&kx, 0, sizeof(kx));
    // tshark: p_len 128, g_len 1, ys_len 128, sig_hash_alg 0x0601, sig_len 256
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_DHE, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    CU_ASSERT_TRUE(kx.has_ske);
    CU_ASSERT_EQUAL(kx.kind, TD_KX_DHE);
    CU_ASSERT_EQUAL(kx.dh_p_len, 128);
    CU_ASSERT_EQUAL(kx.dh_g_len, 1);
    CU_ASSERT_EQUAL(kx.dh_ys_len, 128);
    CU_ASSERT_EQUAL(kx.dh_p_first, 0xbb);
    CU_ASSERT_EQUAL(kx.dh_ys_first, 0xaf);
    CU_ASSERT_EQUAL(kx.ske_sig_alg, 0x0601);
    CU_ASSERT_EQUAL(kx.ske_sig_len, 256);
    // Version not known yet: the TLS 1.2 form is recognised by its shape.
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_DHE, 0, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.ske_sig_alg, 0x0601);
    CU_ASSERT_EQUAL(kx.ske_sig_len, 256);
    // Parsed as TLS 1.1 the algorithm is taken for a signature length: the lengths disagree.
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_NOT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_DHE, TD_VERSION_TLS11, &kx), TD_ANOM_NONE);
    free(v.p);
}

static void test_ske_dhe_tls11(void)
{
    struct vec v = vec_hex(SKE_DHE_TLS11);
    struct td_kx_facts kx;
    memset(&kx, 0, sizeof(kx));
    // tshark: p_len 256, g_len 1, ys_len 256, sig_len 256, no sig_hash_alg (TLS 1.1)
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_DHE, TD_VERSION_TLS11, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.dh_p_len, 256);
    CU_ASSERT_EQUAL(kx.dh_g_len, 1);
    CU_ASSERT_EQUAL(kx.dh_ys_len, 256);
    CU_ASSERT_EQUAL(kx.dh_p_first, 0xa1);
    CU_ASSERT_EQUAL(kx.dh_ys_first, 0x9f);
    CU_ASSERT_EQUAL(kx.ske_sig_alg, 0);
    CU_ASSERT_EQUAL(kx.ske_sig_len, 256);
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_DHE, 0, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.ske_sig_alg, 0);
    CU_ASSERT_EQUAL(kx.ske_sig_len, 256);
    free(v.p);
}

/* build_dhe_ske writes ServerDHParams with the given sizes plus a TLS 1.2 signature into buf. */
static size_t build_dhe_ske(uint8_t *buf, size_t p_len, size_t ys_len)
{
    size_t o = 0;
    buf[o++] = (uint8_t)(p_len >> 8);
    buf[o++] = (uint8_t)p_len;
    for (size_t i = 0; i < p_len; i++) {
        buf[o++] = 0xff; // a safe prime's top byte is 0xff for RFC 2409/3526 groups
    }
    buf[o++] = 0x00;
    buf[o++] = 0x01;
    buf[o++] = 0x02; // g = 2
    buf[o++] = (uint8_t)(ys_len >> 8);
    buf[o++] = (uint8_t)ys_len;
    for (size_t i = 0; i < ys_len; i++) {
        buf[o++] = (uint8_t)(i == 0 ? 0x3c : 0x5a);
    }
    buf[o++] = 0x04; // rsa_pkcs1_sha256
    buf[o++] = 0x01;
    buf[o++] = 0x00;
    buf[o++] = 0x04;
    for (int i = 0; i < 4; i++) {
        buf[o++] = 0xee;
    }
    return o;
}

/* The "DHE off-by-one" signature needs Ys one byte shorter than p measured exactly, and must not be
 * mistaken for malformed syntax: a Ys with a leading zero byte dropped is legal here. */
static void test_ske_dhe_short_ys(void)
{
    uint8_t buf[512];
    size_t n = build_dhe_ske(buf, 128, 127);
    struct td_cursor c;
    td_cursor_init(&c, buf, n, 0);
    struct td_kx_facts kx;
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(c, TD_KX_DHE, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.dh_p_len, 128);
    CU_ASSERT_EQUAL(kx.dh_g_len, 1);
    CU_ASSERT_EQUAL(kx.dh_ys_len, 127);
    CU_ASSERT_EQUAL(kx.dh_p_first, 0xff);
    CU_ASSERT_EQUAL(kx.dh_ys_first, 0x3c);
    CU_ASSERT_EQUAL(kx.ske_sig_alg, 0x0401);
    CU_ASSERT_EQUAL(kx.ske_sig_len, 4);

    // A zero-length Ys is impossible (dh_Ys<1..2^16-1>).
    n = build_dhe_ske(buf, 16, 0);
    td_cursor_init(&c, buf, n, 0);
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(c, TD_KX_DHE, TD_VERSION_TLS12, &kx), TD_ANOM_SKE_MALFORMED);

    // One byte after the signature: trailing bytes.
    n = build_dhe_ske(buf, 16, 16);
    buf[n++] = 0;
    td_cursor_init(&c, buf, n, 0);
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(c, TD_KX_DHE, TD_VERSION_TLS12, &kx), TD_ANOM_TRAILING_BYTES);
    CU_ASSERT_EQUAL(kx.dh_ys_len, 16);
}

static void test_ske_ecdhe(void)
{
    struct vec v = vec_hex(SKE_ECDHE_TLS12);
    struct td_kx_facts kx;
    memset(&kx, 0, sizeof(kx));
    // tshark: server_curve_type 0x03, server_named_curve 0x0017, server_point_len 65, 0x0601, sig_len 256
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_ECDHE, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.ec_curve_type, 3);
    CU_ASSERT_EQUAL(kx.ec_group, 0x0017);
    CU_ASSERT_EQUAL(kx.ec_server_point_len, 65);
    CU_ASSERT_EQUAL(kx.ske_sig_alg, 0x0601);
    CU_ASSERT_EQUAL(kx.ske_sig_len, 256);
    free(v.p);

    // explicit_prime (RFC 4492 §5.4): curve_type 1, prime_p, a, b, base, order, cofactor, then the point.
    static const char explicit_prime[] = "01 01ff 0101 0102 020403 01ff 0101  03 04aabb  0003 aabbcc";
    v = vec_hex(explicit_prime);
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_ECDHE, TD_VERSION_TLS11, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.ec_curve_type, 1);
    CU_ASSERT_EQUAL(kx.ec_group, 0);
    CU_ASSERT_EQUAL(kx.ec_server_point_len, 3);
    CU_ASSERT_EQUAL(kx.ske_sig_len, 3);
    free(v.p);

    // An unknown curve_type cannot be skipped.
    v = vec_hex("07 0017 01 04 0003 aabbcc");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_ECDHE, TD_VERSION_TLS11, &kx),
                    TD_ANOM_SKE_MALFORMED);
    CU_ASSERT_EQUAL(kx.ec_curve_type, 7);
    free(v.p);
}

static void test_ske_psk(void)
{
    struct td_kx_facts kx;
    // PSK: identity hint only (RFC 4279 §2)
    struct vec v = vec_hex("0004 68696e74");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_PSK, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    free(v.p);
    // DHE_PSK: hint, then ServerDHParams, unsigned (RFC 4279 §3)
    v = vec_hex("0000 0002 ffff 0001 02 0002 1234");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_PSK, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.dh_p_len, 2);
    CU_ASSERT_EQUAL(kx.dh_ys_len, 2);
    CU_ASSERT_EQUAL(kx.dh_ys_first, 0x12);
    free(v.p);
    // ECDHE_PSK: hint, then ServerECDHParams (RFC 5489 §2)
    v = vec_hex("0001 41 03 001d 03 aabbcc");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_PSK, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.ec_group, 0x001d);
    CU_ASSERT_EQUAL(kx.ec_server_point_len, 3);
    free(v.p);
    // hint overruns the message
    v = vec_hex("0009 41");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_server_key_exchange(whole(&v), TD_KX_PSK, TD_VERSION_TLS12, &kx),
                    TD_ANOM_SKE_MALFORMED);
    free(v.p);
}

static void test_cke(void)
{
    struct td_kx_facts kx;
    struct vec v = vec_hex(CKE_DHE_TLS12);
    memset(&kx, 0, sizeof(kx));
    // tshark: yc_len 128
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_DHE, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    CU_ASSERT_TRUE(kx.has_cke);
    CU_ASSERT_TRUE(kx.has_dh_yc);
    CU_ASSERT_EQUAL(kx.dh_yc_len, 128);
    CU_ASSERT_EQUAL(kx.dh_yc_first, 0x54);
    free(v.p);

    v = vec_hex(CKE_DHE_TLS11);
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_DHE, TD_VERSION_TLS11, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.dh_yc_len, 256); // tshark: yc_len 256
    CU_ASSERT_EQUAL(kx.dh_yc_first, 0x85);
    free(v.p);

    v = vec_hex(CKE_ECDHE_TLS12);
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_ECDHE, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.ec_client_point_len, 65); // tshark: client_point_len 65
    free(v.p);

    v = vec_hex(CKE_RSA_TLS12);
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_RSA, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.rsa_epms_len, 512); // 0x0200 prefix, 4096-bit key
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_RSA, 0, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.rsa_epms_len, 512);
    // SSL 3.0 sends the RSA ciphertext bare (RFC 6101 §5.6.7.1): the whole body is the value.
    memset(&kx, 0, sizeof(kx));
    struct td_cursor bare = whole(&v);
    CU_ASSERT_TRUE_FATAL(td_cursor_skip(&bare, 2));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(bare, TD_KX_RSA, TD_VERSION_SSL3, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.rsa_epms_len, 512);
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(bare, TD_KX_RSA, 0, &kx), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(kx.rsa_epms_len, 512);
    free(v.p);

    // DHE Yc with a byte after it; an empty Yc
    v = vec_hex("0002 1122 33");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_DHE, TD_VERSION_TLS12, &kx),
                    TD_ANOM_TRAILING_BYTES);
    CU_ASSERT_EQUAL(kx.dh_yc_len, 2);
    free(v.p);
    v = vec_hex("0000");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_DHE, TD_VERSION_TLS12, &kx),
                    TD_ANOM_CKE_MALFORMED);
    free(v.p);
    // PSK family: identity then one of the shapes
    v = vec_hex("0003 616263 0002 abcd");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_PSK, TD_VERSION_TLS12, &kx), TD_ANOM_NONE);
    free(v.p);
    v = vec_hex("0003 6162");
    memset(&kx, 0, sizeof(kx));
    CU_ASSERT_EQUAL(td_parse_client_key_exchange(whole(&v), TD_KX_PSK, TD_VERSION_TLS12, &kx),
                    TD_ANOM_CKE_MALFORMED);
    free(v.p);
}

/* Every proper prefix of a message is an anomaly, never a crash or an out-of-bounds read. The one
 * exception is a ServerKeyExchange cut exactly after its parameters: that is the legal shape of an
 * anonymous suite's message (DH_anon/ECDH_anon have no signature), which the kind alone cannot rule out. */
static void test_kx_truncations(void)
{
    static const struct {
        const char *hex;
        bool ske;
        enum td_kx_kind kind;
        uint16_t version;
        size_t params_len; // SKE: length of the parameters (the anonymous-suite boundary)
    } cases[] = {
        {SKE_DHE_TLS12, true, TD_KX_DHE, TD_VERSION_TLS12, 2 + 128 + 2 + 1 + 2 + 128},
        {SKE_DHE_TLS11, true, TD_KX_DHE, TD_VERSION_TLS11, 2 + 256 + 2 + 1 + 2 + 256},
        {SKE_ECDHE_TLS12, true, TD_KX_ECDHE, TD_VERSION_TLS12, 1 + 2 + 1 + 65},
        {CKE_DHE_TLS12, false, TD_KX_DHE, TD_VERSION_TLS12, 0},
        {CKE_DHE_TLS11, false, TD_KX_DHE, TD_VERSION_TLS11, 0},
        {CKE_ECDHE_TLS12, false, TD_KX_ECDHE, TD_VERSION_TLS12, 0},
        {CKE_RSA_TLS12, false, TD_KX_RSA, TD_VERSION_TLS12, 0},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct vec v = vec_hex(cases[k].hex);
        for (size_t n = 0; n < v.len; n++) {
            // A heap copy of exactly n bytes, so a read past the prefix is caught by ASan/valgrind.
            uint8_t *copy = malloc(n > 0 ? n : 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
            if (n > 0) {
                memcpy(copy, v.p, n);
            }
            struct td_cursor c;
            td_cursor_init(&c, copy, n, 0);
            struct td_kx_facts kx;
            memset(&kx, 0, sizeof(kx));
            enum td_anomaly a = cases[k].ske
                                    ? td_parse_server_key_exchange(c, cases[k].kind, cases[k].version, &kx)
                                    : td_parse_client_key_exchange(c, cases[k].kind, cases[k].version, &kx);
            if (cases[k].ske && n == cases[k].params_len) {
                CU_ASSERT_EQUAL(a, TD_ANOM_NONE);
                CU_ASSERT_EQUAL(kx.ske_sig_len, 0);
            } else if (a == TD_ANOM_NONE) {
                printf("\n  case %zu: prefix %zu of %zu parsed without an anomaly\n", k, n, v.len);
                CU_FAIL("truncated key exchange accepted");
            }
            free(copy);
        }
        free(v.p);
    }
}

/* ---------------------------------------------------------------- CertificateRequest */

static void test_cr_anyconnect(void)
{
    struct vec v = vec_hex(CR_ANYCONNECT);
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    struct td_cert_request cr;
    memset(&cr, 0, sizeof(cr));
    // tshark: cert_types_count 2, sig_hash_alg_len 14, dnames_len 1145, dname_len 117,117,117,33,193,189,179,184
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, whole(&v), TD_VERSION_TLS12, false, &cr), TD_ANOM_NONE);
    CU_ASSERT_FALSE(cr.tls13);
    CU_ASSERT_EQUAL(cr.msg_len, 1166);
    CU_ASSERT_EQUAL_FATAL(cr.cert_types.num, 2);
    CU_ASSERT_EQUAL(cr.cert_types.v[0], 1);
    CU_ASSERT_EQUAL(cr.cert_types.v[1], 64);
    CU_ASSERT_EQUAL_FATAL(cr.sig_algs.num, 7);
    CU_ASSERT_EQUAL(cr.sig_algs.v[0], 0x0601);
    CU_ASSERT_EQUAL(cr.ca_list_len, 1145);
    CU_ASSERT_EQUAL(cr.num_ca_names, 8);
    CU_ASSERT_TRUE(cr.ca_list_well_formed);

    // Version unknown: the TLS 1.2 form is taken because it parses exactly.
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, whole(&v), 0, false, &cr), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(cr.sig_algs.num, 7);
    CU_ASSERT_EQUAL(cr.num_ca_names, 8);

    // Cut short (the Schannel pattern): the list still declares 1145 bytes but the message ends after
    // 600 bytes. The names before the cut are counted: types (3) + sig algs (16) + list length (2) leave
    // 579 bytes: 3 x (2 + 117) + (2 + 33) = 392 fit, the next (2 + 193) does not.
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, vec_cursor(&v, 600), TD_VERSION_TLS12, false, &cr),
                    TD_ANOM_CERT_REQUEST_MALFORMED);
    CU_ASSERT_EQUAL(cr.msg_len, 600);
    CU_ASSERT_EQUAL(cr.ca_list_len, 1145);
    CU_ASSERT_EQUAL(cr.num_ca_names, 4);
    CU_ASSERT_FALSE(cr.ca_list_well_formed);
    CU_ASSERT_EQUAL(cr.sig_algs.num, 7);

    td_arena_cleanup(&arena);
    free(v.p);
}

static void test_cr_others(void)
{
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    struct td_cert_request cr;

    // tshark: cert_types_count 3, sig_hash_alg_len 30, dnames_len 108, dname_len 106
    struct vec v = vec_hex(CR_CLIENT_AUTH);
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, whole(&v), TD_VERSION_TLS12, false, &cr), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(cr.cert_types.num, 3);
    CU_ASSERT_EQUAL(cr.sig_algs.num, 15);
    CU_ASSERT_EQUAL(cr.ca_list_len, 108);
    CU_ASSERT_EQUAL(cr.num_ca_names, 1);
    CU_ASSERT_TRUE(cr.ca_list_well_formed);
    CU_ASSERT_EQUAL(cr.msg_len, 146);
    free(v.p);

    // TLS 1.0: no signature algorithms. tshark: cert_types_count 2, dnames_len 110, dname_len 108
    v = vec_hex(CR_TLS10);
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, whole(&v), TD_VERSION_TLS10, false, &cr), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(cr.cert_types.num, 2);
    CU_ASSERT_EQUAL(cr.sig_algs.num, 0);
    CU_ASSERT_EQUAL(cr.ca_list_len, 110);
    CU_ASSERT_EQUAL(cr.num_ca_names, 1);
    CU_ASSERT_TRUE(cr.ca_list_well_formed);
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, whole(&v), 0, false, &cr), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(cr.sig_algs.num, 0);
    CU_ASSERT_EQUAL(cr.num_ca_names, 1);
    // The same bytes read as TLS 1.2 cannot fit.
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_NOT_EQUAL(td_parse_certificate_request(&arena, whole(&v), TD_VERSION_TLS12, false, &cr),
                        TD_ANOM_NONE);
    free(v.p);

    // TLS 1.1, empty CA list. tshark: cert_types_count 2, dnames_len 0
    v = vec_hex(CR_TLS11_EMPTY);
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, whole(&v), TD_VERSION_TLS11, false, &cr), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(cr.cert_types.num, 2);
    CU_ASSERT_EQUAL(cr.ca_list_len, 0);
    CU_ASSERT_EQUAL(cr.num_ca_names, 0);
    CU_ASSERT_TRUE(cr.ca_list_well_formed);
    free(v.p);

    // A name that overruns the list: the list is not well formed.
    v = vec_hex("01 01 0000 0008 0002 aabb 0009 cc");
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, whole(&v), TD_VERSION_TLS12, false, &cr),
                    TD_ANOM_CERT_REQUEST_MALFORMED);
    CU_ASSERT_EQUAL(cr.ca_list_len, 8);
    CU_ASSERT_EQUAL(cr.num_ca_names, 1);
    CU_ASSERT_FALSE(cr.ca_list_well_formed);
    free(v.p);

    // TLS 1.3: context, then signature_algorithms (13) and certificate_authorities (47) extensions.
    v = vec_hex("00 0016 000d 0006 0004 0804 0403  002f 0008 0006 0004 30023100");
    memset(&cr, 0, sizeof(cr));
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, whole(&v), TD_VERSION_TLS13, true, &cr), TD_ANOM_NONE);
    CU_ASSERT_TRUE(cr.tls13);
    CU_ASSERT_EQUAL_FATAL(cr.sig_algs.num, 2);
    CU_ASSERT_EQUAL(cr.sig_algs.v[1], 0x0403);
    CU_ASSERT_EQUAL(cr.ca_list_len, 6);
    CU_ASSERT_EQUAL(cr.num_ca_names, 1);
    CU_ASSERT_TRUE(cr.ca_list_well_formed);
    free(v.p);

    td_arena_cleanup(&arena);
}

/* KB 2801679: Schannel truncates a certificate_authorities list past 16 KB. Build a 20000-byte list of
 * 200 names of 98 bytes declared whole, but cut after 16384 bytes of it. */
static void test_cr_schannel_cut(void)
{
    enum { NAMES = 200, NAME_LEN = 98, LIST = NAMES * (2 + NAME_LEN), CUT = 16384 };
    size_t full = 1 + 1 + 2 + 2 + 2 + LIST; // types<u8>(1 type), sig_algs<u16>(1 alg), list<u16>
    uint8_t *buf = calloc(1, full);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    size_t o = 0;
    buf[o++] = 1;
    buf[o++] = 1;
    buf[o++] = 0;
    buf[o++] = 2;
    buf[o++] = 0x04;
    buf[o++] = 0x01;
    buf[o++] = (uint8_t)(LIST >> 8);
    buf[o++] = (uint8_t)LIST;
    for (int i = 0; i < NAMES; i++) {
        buf[o++] = 0;
        buf[o++] = NAME_LEN;
        o += NAME_LEN;
    }
    CU_ASSERT_EQUAL_FATAL(o, full);
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    struct td_cert_request cr;
    memset(&cr, 0, sizeof(cr));
    struct td_cursor c;
    td_cursor_init(&c, buf, full, 0);
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, c, TD_VERSION_TLS12, false, &cr), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(cr.ca_list_len, LIST);
    CU_ASSERT_EQUAL(cr.num_ca_names, NAMES);
    CU_ASSERT_TRUE(cr.ca_list_well_formed);

    memset(&cr, 0, sizeof(cr));
    td_cursor_init(&c, buf, 8 + CUT, 0);
    CU_ASSERT_EQUAL(td_parse_certificate_request(&arena, c, TD_VERSION_TLS12, false, &cr),
                    TD_ANOM_CERT_REQUEST_MALFORMED);
    CU_ASSERT_EQUAL(cr.ca_list_len, LIST);
    CU_ASSERT_EQUAL(cr.num_ca_names, CUT / (2 + NAME_LEN)); // 163 whole names before the cut
    CU_ASSERT_FALSE(cr.ca_list_well_formed);
    CU_ASSERT_EQUAL(cr.msg_len, 8 + CUT);
    td_arena_cleanup(&arena);
    free(buf);
}

static void test_cr_truncations(void)
{
    static const struct {
        const char *hex;
        uint16_t version;
    } cases[] = {
        {CR_ANYCONNECT, TD_VERSION_TLS12},
        {CR_CLIENT_AUTH, TD_VERSION_TLS12},
        {CR_TLS10, TD_VERSION_TLS10},
        {CR_TLS11_EMPTY, TD_VERSION_TLS11},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct vec v = vec_hex(cases[k].hex);
        for (size_t n = 0; n < v.len; n++) {
            uint8_t *copy = malloc(n > 0 ? n : 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
            if (n > 0) {
                memcpy(copy, v.p, n);
            }
            struct td_cursor c;
            td_cursor_init(&c, copy, n, 0);
            struct td_arena arena;
            td_arena_init(&arena, ARENA_CAP);
            struct td_cert_request cr;
            memset(&cr, 0, sizeof(cr));
            if (td_parse_certificate_request(&arena, c, cases[k].version, false, &cr) == TD_ANOM_NONE) {
                printf("\n  case %zu: prefix %zu of %zu parsed without an anomaly\n", k, n, v.len);
                CU_FAIL("truncated CertificateRequest accepted");
            }
            CU_ASSERT_EQUAL(cr.msg_len, n);
            td_arena_cleanup(&arena);
            free(copy);
        }
        free(v.p);
    }
}

/* ---------------------------------------------------------------- certificates */

static bool has_string(char **list, uint32_t num, const char *s)
{
    for (uint32_t i = 0; i < num; i++) {
        if (list[i] != NULL && strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

#define STR_EQ(a, b) CU_ASSERT_STRING_EQUAL((a) != NULL ? (a) : "(null)", (b))

static bool parse_der(struct td_arena *arena, const char *hex, struct td_cert *out)
{
    struct vec v = vec_hex(hex);
    memset(out, 0, sizeof(*out));
    bool ok = td_cert_parse(arena, whole(&v), out);
    free(v.p);
    return ok;
}

static void test_cert_leaf(void)
{
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    struct td_cert c;
    CU_ASSERT_TRUE_FATAL(parse_der(&arena, DER_LEAF, &c));
    CU_ASSERT_FALSE(c.parse_error);
    CU_ASSERT_EQUAL(c.der_len, 494);
    STR_EQ(c.sha256, "d26dc1b0d5aa00976028d8affcf6c0e38d943e263467256f1878732cb490c65d");
    STR_EQ(c.subject, "O=Example\\, Inc.,CN=www.example.test");
    STR_EQ(c.issuer, "CN=tlsdiag Test Root,O=tlsdiag,C=US");
    STR_EQ(c.serial, "C0FFEE01");
    CU_ASSERT_EQUAL(c.not_before, 1704067200); // 2024-01-01T00:00:00Z
    CU_ASSERT_EQUAL(c.not_after, 2019686400);  // 2034-01-01T00:00:00Z
    CU_ASSERT_EQUAL_FATAL(c.num_sans, 4);
    STR_EQ(c.sans[0], "www.example.test");
    STR_EQ(c.sans[1], "example.test");
    STR_EQ(c.sans[2], "IP:192.0.2.7");
    STR_EQ(c.sans[3], "IP:2001:db8::1");
    CU_ASSERT_TRUE(c.has_eku_ext);
    CU_ASSERT_EQUAL_FATAL(c.num_ekus, 1);
    STR_EQ(c.ekus[0], "serverAuth");
    STR_EQ(c.key_type, "EC");
    CU_ASSERT_EQUAL(c.key_bits, 256);
    STR_EQ(c.sig_alg, "ecdsa-with-SHA256");
    CU_ASSERT_FALSE(c.is_ca);
    CU_ASSERT_FALSE(c.self_signed);
    td_arena_cleanup(&arena);
}

static void test_cert_kinds(void)
{
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    struct td_cert c;

    CU_ASSERT_TRUE_FATAL(parse_der(&arena, DER_CA, &c));
    STR_EQ(c.sha256, "4b7521502f222dd5e9a54ca7c92957115bde0fc1dad87187689257835bb53769");
    STR_EQ(c.subject, "CN=tlsdiag Test Root,O=tlsdiag,C=US");
    STR_EQ(c.serial, "01");
    CU_ASSERT_TRUE(c.is_ca);
    CU_ASSERT_TRUE(c.self_signed);
    CU_ASSERT_FALSE(c.has_eku_ext);
    CU_ASSERT_EQUAL(c.num_ekus, 0);
    CU_ASSERT_EQUAL(c.num_sans, 0);
    STR_EQ(c.key_type, "EC");
    CU_ASSERT_EQUAL(c.key_bits, 384);
    STR_EQ(c.sig_alg, "ecdsa-with-SHA384");
    CU_ASSERT_EQUAL(c.not_before, 1577836800);
    CU_ASSERT_EQUAL(c.not_after, 2208988800);

    // Expired self-signed RSA client certificate with clientAuth and a private EKU OID.
    CU_ASSERT_TRUE_FATAL(parse_der(&arena, DER_EXPIRED, &c));
    STR_EQ(c.sha256, "0192b2294522f7b76ec5321d4a8b3a1e2defb096a8155dcb4e816b8f811a59da");
    STR_EQ(c.subject, "CN=old client");
    STR_EQ(c.serial, "02");
    CU_ASSERT_EQUAL(c.not_before, 1262304000); // 2010-01-01
    CU_ASSERT_EQUAL(c.not_after, 1293840000);  // 2011-01-01
    CU_ASSERT_TRUE(c.has_eku_ext);
    CU_ASSERT_EQUAL(c.num_ekus, 2);
    CU_ASSERT_TRUE(has_string(c.ekus, c.num_ekus, "clientAuth"));
    CU_ASSERT_TRUE(has_string(c.ekus, c.num_ekus, "1.3.6.1.4.1.99999.1"));
    CU_ASSERT_FALSE(has_string(c.ekus, c.num_ekus, "serverAuth"));
    STR_EQ(c.key_type, "RSA");
    CU_ASSERT_EQUAL(c.key_bits, 2048);
    STR_EQ(c.sig_alg, "sha256WithRSAEncryption");
    CU_ASSERT_TRUE(c.self_signed);
    CU_ASSERT_FALSE(c.is_ca);

    // Self-issued (subject == issuer) but signed by another key: not self-signed.
    CU_ASSERT_TRUE_FATAL(parse_der(&arena, DER_ROLLOVER, &c));
    STR_EQ(c.subject, "CN=Rollover CA");
    STR_EQ(c.issuer, "CN=Rollover CA");
    CU_ASSERT_TRUE(c.is_ca);
    CU_ASSERT_FALSE(c.self_signed);

    // Ed25519, no extensions at all.
    CU_ASSERT_TRUE_FATAL(parse_der(&arena, DER_ED25519, &c));
    STR_EQ(c.sha256, "61c4e6f218e5324bad4f6bfebf5791b82bcd2dfe39ae212783d43193e2b25c08");
    STR_EQ(c.key_type, "Ed25519");
    CU_ASSERT_EQUAL(c.key_bits, 256); // libcrypto 3.0 EVP_PKEY_get_bits for any Ed25519 key (checked apart)
    STR_EQ(c.sig_alg, "ED25519");
    CU_ASSERT_TRUE(c.self_signed);
    CU_ASSERT_FALSE(c.has_eku_ext);
    CU_ASSERT_EQUAL(c.num_sans, 0);
    td_arena_cleanup(&arena);
}

static void test_cert_garbage(void)
{
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    struct td_cert c;
    // Not DER: parse_error, but the fingerprint and length are still there.
    struct vec v = vec_hex("0011223344");
    memset(&c, 0, sizeof(c));
    CU_ASSERT_FALSE(td_cert_parse(&arena, whole(&v), &c));
    CU_ASSERT_TRUE(c.parse_error);
    CU_ASSERT_EQUAL(c.der_len, 5);
    // sha256(00 11 22 33 44), from `printf '\x00\x11\x22\x33\x44' | sha256sum`
    STR_EQ(c.sha256, "172e82e64a9e837af9977736b99d91721ec0c19b1f8b32d4e7aa317d60388c31");
    free(v.p);
    // Empty
    memset(&c, 0, sizeof(c));
    struct td_cursor empty;
    td_cursor_init(&empty, NULL, 0, 0);
    CU_ASSERT_FALSE(td_cert_parse(&arena, empty, &c));
    CU_ASSERT_TRUE(c.parse_error);
    STR_EQ(c.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    // Mutations of a real certificate (a fixed-seed xorshift): every byte flipped somewhere, every
    // prefix; libcrypto either parses or refuses, and nothing crashes or leaks.
    static const char *ders[] = {DER_LEAF, DER_EXPIRED, DER_ED25519};
    uint32_t seed = 0x2545f491u;
    for (size_t k = 0; k < sizeof(ders) / sizeof(ders[0]); k++) {
        v = vec_hex(ders[k]);
        for (size_t n = 0; n < v.len; n++) {
            uint8_t *copy = malloc(n > 0 ? n : 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
            if (n > 0) {
                memcpy(copy, v.p, n);
            }
            struct td_cursor pc;
            td_cursor_init(&pc, copy, n, 0);
            memset(&c, 0, sizeof(c));
            CU_ASSERT_FALSE(td_cert_parse(&arena, pc, &c)); // a cut certificate never parses
            CU_ASSERT_EQUAL(c.der_len, n);
            free(copy);
        }
        for (int round = 0; round < 400; round++) {
            uint8_t *copy = malloc(v.len);
            CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
            memcpy(copy, v.p, v.len);
            for (int flips = 0; flips < 1 + round % 4; flips++) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                copy[seed % v.len] ^= (uint8_t)(1u + (seed >> 24) % 255u);
            }
            struct td_cursor mc;
            td_cursor_init(&mc, copy, v.len, 0);
            memset(&c, 0, sizeof(c));
            if (td_cert_parse(&arena, mc, &c)) {
                CU_ASSERT_FALSE(c.parse_error); // some flips land in the signature: still a certificate
            }
            CU_ASSERT_EQUAL(c.der_len, v.len);
            free(copy);
        }
        free(v.p);
    }
    td_arena_cleanup(&arena);
}

/* ---------------------------------------------------------------- Certificate message */

static void test_certificate_real(void)
{
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    struct td_cert_chain ch;

    // tshark: certificates_length 915, certificate_length 912
    struct vec v = vec_hex(CERT_CLIENT);
    memset(&ch, 0, sizeof(ch));
    CU_ASSERT_EQUAL(td_parse_certificate(&arena, whole(&v), false, &ch), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(ch.total_len, 915);
    CU_ASSERT_EQUAL(ch.num_sent, 1);
    CU_ASSERT_EQUAL_FATAL(ch.num_certs, 1);
    const struct td_cert *c = &ch.certs[0];
    // openssl x509 -nameopt RFC2253 -serial -dates -fingerprint -sha256
    CU_ASSERT_EQUAL(c->der_len, 912);
    STR_EQ(c->sha256, "a25ade469b6a611ba6668f46210b3b3f001b51b1d2bc9f0c152812b32c0c4b42");
    STR_EQ(c->subject, "CN=SampleClientJane,O=TLSClientAuthSampleClient,L=Budapest,ST=Budapest,C=HU");
    STR_EQ(c->issuer, "CN=SampleRoot,O=TLSClientAuthSampleCA,L=Budapest,ST=Budapest,C=HU");
    STR_EQ(c->serial, "C7D4288B80E01E27");
    CU_ASSERT_EQUAL(c->not_before, 1523739327); // Apr 14 20:55:27 2018 GMT
    CU_ASSERT_EQUAL(c->not_after, 1526331327);  // May 14 20:55:27 2018 GMT
    STR_EQ(c->key_type, "RSA");
    CU_ASSERT_EQUAL(c->key_bits, 2048);
    STR_EQ(c->sig_alg, "sha256WithRSAEncryption");
    CU_ASSERT_FALSE(c->is_ca);
    CU_ASSERT_FALSE(c->self_signed);
    free(v.p);

    // tshark: certificates_length 1854, certificate_length 943,905
    v = vec_hex(CERT_SERVER_CHAIN);
    memset(&ch, 0, sizeof(ch));
    CU_ASSERT_EQUAL(td_parse_certificate(&arena, whole(&v), false, &ch), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(ch.total_len, 1854);
    CU_ASSERT_EQUAL(ch.num_sent, 2);
    CU_ASSERT_EQUAL_FATAL(ch.num_certs, 2);
    CU_ASSERT_EQUAL(ch.certs[0].der_len, 943);
    CU_ASSERT_EQUAL(ch.certs[1].der_len, 905);
    CU_ASSERT_FALSE(ch.certs[0].parse_error);
    CU_ASSERT_FALSE(ch.certs[1].parse_error);
    free(v.p);

    // No certificates (a client without one): legal.
    v = vec_hex(CERT_EMPTY);
    memset(&ch, 0, sizeof(ch));
    CU_ASSERT_EQUAL(td_parse_certificate(&arena, whole(&v), false, &ch), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(ch.total_len, 0);
    CU_ASSERT_EQUAL(ch.num_sent, 0);
    CU_ASSERT_EQUAL(ch.num_certs, 0);
    free(v.p);
    td_arena_cleanup(&arena);
}

/* append_u24 / build a Certificate message from DER vectors (TLS 1.2 or TLS 1.3 CertificateEntry form). */
static size_t build_certificate(uint8_t *buf, bool tls13, const struct vec *ders, size_t num)
{
    size_t o = 0;
    if (tls13) {
        buf[o++] = 0; // empty certificate_request_context
    }
    size_t list_at = o;
    o += 3;
    for (size_t i = 0; i < num; i++) {
        buf[o++] = (uint8_t)(ders[i].len >> 16);
        buf[o++] = (uint8_t)(ders[i].len >> 8);
        buf[o++] = (uint8_t)ders[i].len;
        memcpy(buf + o, ders[i].p, ders[i].len);
        o += ders[i].len;
        if (tls13) {
            buf[o++] = 0; // no extensions
            buf[o++] = 0;
        }
    }
    size_t list = o - list_at - 3;
    buf[list_at] = (uint8_t)(list >> 16);
    buf[list_at + 1] = (uint8_t)(list >> 8);
    buf[list_at + 2] = (uint8_t)list;
    return o;
}

static void test_certificate_built(void)
{
    struct vec ders[3] = {vec_hex(DER_LEAF), vec_hex(DER_CA), vec_hex(DER_ED25519)};
    size_t total = 0;
    for (size_t i = 0; i < 3; i++) {
        total += ders[i].len;
    }
    uint8_t *buf = malloc(total + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    struct td_cert_chain ch;
    struct td_cursor c;

    // TLS 1.3 CertificateEntry form
    size_t n = build_certificate(buf, true, ders, 2);
    td_cursor_init(&c, buf, n, 0);
    memset(&ch, 0, sizeof(ch));
    CU_ASSERT_EQUAL(td_parse_certificate(&arena, c, true, &ch), TD_ANOM_NONE);
    CU_ASSERT_EQUAL(ch.num_sent, 2);
    CU_ASSERT_EQUAL_FATAL(ch.num_certs, 2);
    CU_ASSERT_EQUAL(ch.total_len, ders[0].len + ders[1].len + 2 * 5);
    STR_EQ(ch.certs[0].subject, "O=Example\\, Inc.,CN=www.example.test");
    CU_ASSERT_TRUE(ch.certs[1].is_ca);

    // A chain with one unparsable certificate: the others are still kept.
    n = build_certificate(buf, false, ders, 3);
    buf[3 + 3 + ders[0].len + 3] = 0x31; // the CA's outer SEQUENCE tag becomes a SET
    td_cursor_init(&c, buf, n, 0);
    memset(&ch, 0, sizeof(ch));
    CU_ASSERT_EQUAL(td_parse_certificate(&arena, c, false, &ch), TD_ANOM_CERTIFICATE_UNPARSABLE);
    CU_ASSERT_EQUAL(ch.num_sent, 3);
    CU_ASSERT_EQUAL_FATAL(ch.num_certs, 3);
    CU_ASSERT_FALSE(ch.certs[0].parse_error);
    CU_ASSERT_TRUE(ch.certs[1].parse_error);
    CU_ASSERT_FALSE(ch.certs[2].parse_error);
    STR_EQ(ch.certs[2].key_type, "Ed25519");

    // Declared list longer than the message (cut short): leaf kept, anomaly.
    n = build_certificate(buf, false, ders, 2);
    td_cursor_init(&c, buf, 3 + 3 + ders[0].len + 10, 0);
    memset(&ch, 0, sizeof(ch));
    CU_ASSERT_EQUAL(td_parse_certificate(&arena, c, false, &ch), TD_ANOM_CERTIFICATE_MALFORMED);
    CU_ASSERT_EQUAL(ch.total_len, n - 3);
    CU_ASSERT_EQUAL(ch.num_sent, 1);
    CU_ASSERT_EQUAL_FATAL(ch.num_certs, 1);
    STR_EQ(ch.certs[0].serial, "C0FFEE01");

    // Every prefix of both forms: an anomaly, never a crash.
    for (int form = 0; form < 2; form++) {
        n = build_certificate(buf, form == 1, ders, 3);
        for (size_t k = 0; k < n; k++) {
            uint8_t *copy = malloc(k > 0 ? k : 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
            if (k > 0) {
                memcpy(copy, buf, k);
            }
            td_cursor_init(&c, copy, k, 0);
            memset(&ch, 0, sizeof(ch));
            struct td_arena a2;
            td_arena_init(&a2, ARENA_CAP);
            if (td_parse_certificate(&a2, c, form == 1, &ch) == TD_ANOM_NONE) {
                printf("\n  form %d: prefix %zu of %zu parsed without an anomaly\n", form, k, n);
                CU_FAIL("truncated Certificate accepted");
            }
            CU_ASSERT(ch.num_sent <= 3);
            td_arena_cleanup(&a2);
            free(copy);
        }
    }

    // A tiny arena: nothing kept, counting goes on, no crash.
    n = build_certificate(buf, false, ders, 3);
    td_cursor_init(&c, buf, n, 0);
    for (size_t cap = 0; cap <= 16384; cap += 1024) {
        struct td_arena small;
        td_arena_init(&small, cap);
        memset(&ch, 0, sizeof(ch));
        enum td_anomaly a = td_parse_certificate(&small, c, false, &ch);
        CU_ASSERT_EQUAL(ch.num_sent, 3);
        CU_ASSERT(a == TD_ANOM_NONE || a == TD_ANOM_ARENA_FULL);
        td_arena_cleanup(&small);
    }

    td_arena_cleanup(&arena);
    free(buf);
    for (size_t i = 0; i < 3; i++) {
        free(ders[i].p);
    }
}

/* ---------------------------------------------------------------- helpers */

static void test_escape(void)
{
    struct td_arena arena;
    td_arena_init(&arena, ARENA_CAP);
    static const uint8_t raw[] = {'a', '.', 'b', 0x00, '\\', 0x7f, 0xc3, 0xa9, ' ', '~'};
    struct td_cursor c;
    td_cursor_init(&c, raw, sizeof(raw), 0);
    STR_EQ(td_escape_string(&arena, c), "a.b\\x00\\x5c\\x7f\\xc3\\xa9 ~");
    td_cursor_init(&c, NULL, 0, 0);
    STR_EQ(td_escape_string(&arena, c), "");
    // Longer than the bound: cut, marked with "...".
    uint8_t *big = malloc(5000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'x', 5000);
    td_cursor_init(&c, big, 5000, 0);
    char *s = td_escape_string(&arena, c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(strlen(s), 1024 + 3);
    CU_ASSERT_STRING_EQUAL(s + 1024, "...");
    free(big);
    td_arena_cleanup(&arena);
    // A full arena: NULL, no crash.
    struct td_arena none;
    td_arena_init(&none, 0);
    td_cursor_init(&c, raw, sizeof(raw), 0);
    CU_ASSERT_PTR_NULL(td_escape_string(&none, c));
    td_arena_cleanup(&none);
}

static CU_TestInfo tests[] = {
    {"ske_dhe_tls12", test_ske_dhe_tls12},
    {"ske_dhe_tls11", test_ske_dhe_tls11},
    {"ske_dhe_short_ys", test_ske_dhe_short_ys},
    {"ske_ecdhe", test_ske_ecdhe},
    {"ske_psk", test_ske_psk},
    {"cke", test_cke},
    {"kx_truncations", test_kx_truncations},
    {"cr_anyconnect", test_cr_anyconnect},
    {"cr_others", test_cr_others},
    {"cr_schannel_cut", test_cr_schannel_cut},
    {"cr_truncations", test_cr_truncations},
    {"cert_leaf", test_cert_leaf},
    {"cert_kinds", test_cert_kinds},
    {"cert_garbage", test_cert_garbage},
    {"certificate_real", test_certificate_real},
    {"certificate_built", test_certificate_built},
    {"escape", test_escape},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("dissect.messages", tests)
