/* SPDX-License-Identifier: MIT */
/* test_record.c: the TLS record layer, handshake reassembly and per-connection state machine (dissect/record.c,
 * dissect/conn.c), fed byte vectors taken from real captures of the shared corpus (extracted with tshark, the
 * frame numbers below are tshark's) and hand-built records whose layout is written out next to them.
 * Expected values come from tshark's dissection of the captures or from the hand-built bytes. */
#include "../testlib.h"

#include <stdio.h>
#include <string.h>

#include "../../../capture/decode.h"
#include "../../../capture/flow.h"
#include "../../../dissect/conn_internal.h"
#include "../../../dissect/tds.h"
#include "../../../dissect/tls.h"

#define DIR_C2S TD_DIR_C2S
#define DIR_S2C TD_DIR_S2C

/* One delivery; its hex is split in parts to stay under C's 4095-character string minimum. */
struct step {
    int dir;
    uint64_t frame;
    const char *hex[4];
};

/* zeek-certificate-request-handshake-failure.pcap (shared corpus), tshark -T fields -e frame.number -e tcp.payload:
 * frames 4 (ClientHello), 6 (ServerHello, Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone),
 * 8 (Certificate, ClientKeyExchange, ChangeCipherSpec, encrypted Finished), 9 (plaintext fatal handshake_failure(40)).
 * TLS 1.2, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (0xc030). */
static const struct step vec_certreq[] = {
    {DIR_C2S, 4, {
      "16030101200100011c0303944b053cdc6b22b887c1977347a8c17287347d32e410672260d166593f2d746420d240256c0fde"
      "0781eadea126d2a8f55bff0165871aeaeaa9de01cf73723b3036003e130213031301c02cc030009fcca9cca8ccaac02bc02f"
      "009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000095000b00040300"
      "0102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d002a002804030503"
      "0603080708080809080a080b080408050806040105010601030303010302040205020602002b00050403040303002d000201"
      "01003300260024001d0020a42ca54445dab2f14ee089b31223be5f9560248a3ba819fad5b81f4470acbe68",
    }},
    {DIR_S2C, 6, {
      "16030300410200003d0303df5098e0cca20635a15cf7e36f1b07be086d25ced979fe15787ac2a434de853200c030000015ff"
      "01000100000b00040300010200230000001700001603030b840b000b80000b7d000602308205fe308203e6a0030201020201"
      "11300d06092a864886f70d01010b05003048310b30090603550406130255533113301106035504080c0a536f6d652d537461"
      "74653112301006035504070c09536f6d6577686572653110300e060355040a0c07536f6d654f7267301e170d323330323238"
      "3137313930355a170d3237303930353137313930355a304f310b30090603550406130255533113301106035504080c0a536f"
      "6d652d53746174653110300e060355040a0c07536f6d654f72673119301706035504030c1074657374696e672e7a65656b2e"
      "6f726730820222300d06092a864886f70d01010105000382020f003082020a0282020100bdc29873b4cd29538078c18ae882"
      "e7e90153f71b021ebfefe28d45b8230e5ba153c630c5e927d9622fc4f02c59f0850d73220ad4187c24d197c1cc600e775a1e"
      "f0ce34c556e959a54e22298ecd17ff8e87628ee38e0f9637807c6a25a93eec512709070cff6bad381597cc083de665e515aa"
      "ee6234360ca1277f371dfc0f8d4ab839a587178ea647dcd5fb3dc556c18fb00f956c147c48e7e0906ecd823bf466074d5048"
      "b2c13425a9963dc0e8be3152b5ef5ffffb8aa0f37ca68d292f6affac483cbfdfeb29448a21b8242087120e218c7724cf7efd"
      "37f14ed8eb0ac917967a4dc2d21a7d165108e6cf7d3c8583025c76513d38f3eeae858675ff8c7847c5536f66505f7fdbd35e"
      "408a70d05055d5750a2670ab3a59501be5c20a9d3b2eee14aa029f165090ee639a649d5f0152e05b0e069b3404957f6b3031"
      "736d7e57b282e74c4c713c1312f8f8e5799e4158bc834c637760be821778734320436fdea75e68fa935dd9bc96b551552ca2"
      "f6c8991d681077bbbba442cb7f1e5eff2cf0fec07d981121dcbc1a637ba7aad098c1e474c786c77f1b6cb821e0f4fff91e70"
      "3a93d67166fd574494c606343eb965891038608c3cb5153593dbb91ae8eefdfdc8a6428191f6f337c5d7a613c24c5529a228"
      "958186535d0dbdb9fd950abf628290bb038dff970175962c24e63755cf25c7d88f1790a60cd7044ef0aaff3a993725b10203"
      "010001a381eb3081e830090603551d1304023000301106096086480186f8420101040403020640301d0603551d0e04160414"
      "2192a44048a7656bd982020517385f829e145d723081830603551d23047c307a8014111fdfd8a56122ad324298bd310f94d6"
      "f41aa201a14ca44a3048310b30090603550406130255533113301106035504080c0a536f6d652d5374617465311230100603"
      "5504070c09536f6d6577686572653110300e060355040a0c07536f6d654f726782143d83bcf3acb4b2e322c31859e107797d"
      "e768f93e300e0603551d0f0101ff0404030205a030130603551d25040c300a06082b06010505070301300d06092a864886f7"
      "0d01010b050003820201009caa6728a23f5715c24df02897af187bb64e2d2acb3c3f94333407a9248f4ed666e12191e0a361"
      "71182d35909cdc6f1b09ae89ff221452732e4664034cf38e65172de75e9ba10cdd8bc87d2abfbae25c78f69beab02dca9248"
      "554a6ab48341a562cb647f65b791c9fef32a67c1a0815e345ca5689e661c03dc4b63dc037179dd2032ba5b15d0ee60fa0991"
      "5cf6c6927a1773ce0c55a5b30086081fcbfbd389fcbd10ebd0032a171ad6aa2b1dd1968fd223a20aa08d9812fe9f619a5ed0"
      "ec24b9a9e9ef1861faf6306c616da307a4e3775743b60f45d63305b3a62c6bf5f98d3b42f1dd17d5083c50daf33c0d306320"
      "8c75c27f4f093c5e42b7684f96e0a8211d4107cd1f3c6477c10a6bba6780863bca80c7bced4b494e9a67a4723ab54f1c920c"
      "4f5be5bf56bb0aac634837fe5900314d6bf25699c1e91a433260eb6b89807473bfbdba58c07dc484e0d3e123735f46c3460f"
      "44603dc7a5b4a58d6c366308249827f0e94593194835a78a940af38e4f58293e623521a8641a8a30bee3791c0825d48d5ea5"
      "1cff86030be6d380b43e535fb4d4c383868d3af0a21a3a6fcd71851847d2ec866950f3acebffdcbb4785d1d78c55e4cf21e6"
      "bd14fd7d1c270983b6f01f626fbaa57c14685b7c55d3e465b92669f46b2fc5319c9385b29f3a505236b69af170e6edde4e03"
      "e3a9062e61df251ce25bbd12df5fc005a710e5a9dc97a80005753082057130820359a00302010202143d83bcf3acb4b2e322"
      "c31859e107797de768f93e300d06092a864886f70d01010b05003048310b3009060355040613025553311330110603550408"
      "0c0a536f6d652d53746174653112301006035504070c09536f6d6577686572653110300e060355040a0c07536f6d654f7267"
      "301e170d3233303232383137313135335a170d3333303232353137313135335a3048310b3009060355040613025553311330"
      "1106035504080c0a536f6d652d53746174653112301006035504070c09536f6d6577686572653110300e060355040a0c0753"
      "6f6d654f726730820222300d06092a864886f70d01010105000382020f003082020a0282020100cd1eaa42f5beb9f1aea86f"
      "33e0e5fe0650fee8910da459889de5eab364959318ad5cbffe553174c6b86bf99280a1e5a1fbad4c1067d054e71e5c05c8ff"
      "02a5c3782df300e66d3d8ed2aba62ecb6a89fc6da5eb36b6a298121118e5faa93bc7d69e95094cc7132aef83cc49673e17c2",
      "1ea0929956edbe4905939c8a310ab86712430eeb2161830ffa344ec3ca8d88c08aa8e8888ae7d4c6bb792c9651ec92d3277b"
      "fe16982afa4683683583cb90303a0a8eeb897e0bf95c277dea24b4b9557729f7e78d82645397c30cb4d47ac7dba8ceffe491"
      "01db5e9484398402df00b064e3cdd43c138bcac5c9c4423dad8c0050ed98f3dd2fa1308d7a0e148cdda7c6672d590fe80aba"
      "f062a984e2c6d681a832a7f09e1ca8068b869206fbbe2eeffeccbb3a032a903bf21bf3b41e44162daa6c1074b48e7018eae6"
      "a603a998e97aac8b8936eb04ddaa9296889aeed9276ec9cdeb5c3646fd2cf6c27125b2e98178a2e49cff4201447b712ff514"
      "34e9b456e0e4d07b658e7272ca067cebff05493fc5e273e15d44d4cd878bf9b4b70cec267d6b8ed7516d3903d32a58883792"
      "f26be109b38ea7e791c9df75f14d4ba97f22afbee5209f0e073ca3fc1303626d479bb8c56cb72b850b4481f5bc71b53d5f89"
      "843e514e165a73aa2c17df8aefba4472c4e7588276e746508526dfa63b11268bbbefdccf5389befb2a070123203ea42fbbd8"
      "050203010001a3533051301d0603551d0e04160414111fdfd8a56122ad324298bd310f94d6f41aa201301f0603551d230418"
      "30168014111fdfd8a56122ad324298bd310f94d6f41aa201300f0603551d130101ff040530030101ff300d06092a864886f7"
      "0d01010b05000382020100776e5094f5552d208a5b6c3aa81bdb973a6be65349fdf11760e2e6a4abbdc24a42212b42542856"
      "e261a65d632c79b6f9179c5251d762f6cefbbd5fb7d6619993f5f46788f7f84b514db9968161f9b0e835fc872f06b7da110d"
      "215f1669890b84be1f5d4f6ef0ad4e5a46d8af0843ed450a8fd0be5af0d9c802e8f265ac176eb729e505f409aa1878a5cf68"
      "bf25871fd236cf4306d3ff7dcc63adf9fc1d42a37e9a65a76c31c08215a43ab70475815ba7286619feb76faac259e3d4e709"
      "756e4094146beb84e125fac00485d56d62121645d5fc32082efb14794112ba2601242e533914e8d63b83000ce768e7570a33"
      "cbe79dd543de3ed5c9aa66da082d03053a6507bf725c7265bd56ba8cb53985aaf4ad6da93e5bfd33c4296e643d66fba32ba9"
      "9bb6e2079f6ed494c58b0e0aaa1a9684ac26652f5400bf3eb2b0991136c652cf89bd6e1c39cb328e5d77adf32e9e0a24a5d9"
      "876e54e1bc0298f548561b12ce234850adb213927952b03de9e42fcf931fd7e54e528ac4fd8eeeed3b7274fb3fa18a691b92"
      "14a16300e75cc2f1b0750ece69a3cfdfb5b7c1e00927008b84e4e10a00f1a0bf177ff7963688d2cd2419fb02fc21bfaf405c"
      "56e5a74febc367b36a07545f0be2e98c0ffc24bdb0e2aefcfb655af252add033db6a1512329dbf1889bef0e1afb03c40951f"
      "61662ff515681873f17649c64839c295d324b43132707f160303022c0c00022803001d2005e9c77666a82ccfd79b8385fd72"
      "52f27515bbb9d70a4d9cb6403251b0f16757040102005acba167d7936e8f86a0cfc781c06560bd4407daf0c40b83d2df0afb"
      "dc55c1904768a777b90b69b2a850ab261489594f95ade886bf7f52289abe64d62d8f4edb69a95cf9a3392ebbc68c8da0917a"
      "f74db3e39bfd711dfa43b0b64c2d3779a4ea1b55ad69377b1593481475851428cb76e713b647da5a7595dcf79d32376fd24a"
      "f0a9646794bfae84c091ec4af1a283c4f17b6bc61344f1e226d880dd75e77175d25c7eace8e37ab32a4868ae004b02166bc6"
      "4f2cdc73abf246e530713fbacd877bf8fecf45ef938f0202c35e5444f9f1bd821196fd4aea677493d65a15392391e2a170da"
      "2e8f25d4e9acbf463dffb6d9106c23b8862fbbd53cfa59a8fb95dbed9e0f6db8b6cdd9e0d30834a23160471056565e81243d"
      "e038b535cdb231cb38e85eaf1a953c114c1ea2bc7d0b46bcc7b05768189232e500ad65c8dd7e118bbd63c68f287c906f58b4"
      "37910a402c8bfa1fa1944c7bcccebb44a80d1f5c630721cc4ce42de807f0f7442b0a7df2469efea4de3e73a045845854d19d"
      "28b32b793f8eec97bbbe73d7c18b9eca5fa1ba6fa08899e149c719c90fae158be680476bbf211e11794f6c7218cfbea6776b"
      "90e627104fe0387f19a89c976f10d86dead4002fb0b5e7941a2d4e3d9b65ea6f303a95440a33011fc7a915d3f04dab7ebc79"
      "5581de4b2fabd6a8f3f2e83d9d6129e354da626d3497169bcb563bd7a5331e8d49a116030300580d00005401010002040100"
      "4c004a3048310b30090603550406130255533113301106035504080c0a536f6d652d53746174653112301006035504070c09"
      "536f6d6577686572653110300e060355040a0c07536f6d654f726716030300040e000000",
    }},
    {DIR_C2S, 8, {
      "16030300070b0000030000001603030025100000212057b8e7e35b9e16d8b8b3bfbc48d20fc0ecc583306e82523ad32701f7"
      "1ec0a06b14030300010116030300285eed31c4074367a95de8251fa5b94a036a1877663d1bab42f064ac3a5ea69bd077133a"
      "a6e83db472",
    }},
    {DIR_S2C, 9, {
      "15030300020228",
    }},
};

/* zeek-tls10-dhe-512bit.pcap (shared corpus, port 8888 decoded as TLS): frames 4 (ClientHello), 6 (ServerHello,
 * Certificate, ServerKeyExchange, ServerHelloDone), 8 (ClientKeyExchange, CCS, Finished), 9 (NewSessionTicket, CCS,
 * Finished), 11 (encrypted alert). TLS 1.0, TLS_DHE_RSA_WITH_AES_256_CBC_SHA (0x0039). */
static const struct step vec_tls10[] = {
    {DIR_C2S, 4, {
      "16030100f4010000f0030354f652a773f0003a5f2828eb432c654199fc792e4ba1b84e9f5e15d77f743acd000084c030c02c"
      "c028c024c014c00a00a3009f006b006a0039003800880087c032c02ec02ac026c00fc005009d003d00350084c012c0080016"
      "0013c00dc003000ac02fc02bc027c023c013c00900a2009e0067004000330032009a009900450044c031c02dc029c025c00e"
      "c004009c003c002f009600410007c011c007c00cc0020005000400ff01000043000b000403000102000a0008000600190018"
      "001700230000000d002200200601060206030501050205030401040204030301030203030201020202030101000f000101",
    }},
    {DIR_S2C, 6, {
      "160301003502000031030154f6530f1c38809d03c80c4937955fc27383590657b218e8cc0cbe76014aaca4000039000009ff"
      "010001000023000016030103070b0003030003000002fd308202f9308201e1a003020102020900fa17a614059b1ef3300d06"
      "092a864886f70d010105050030133111300f060355040a0c0854657374436f7270301e170d3135303330343030333130355a"
      "170d3136303330333030333130355a30133111300f060355040a0c0854657374436f727030820122300d06092a864886f70d"
      "01010105000382010f003082010a0282010100c9918b57a7abacd4cc5eb12b66abd4306083c8934c89163af20428c4ca1288"
      "233dca39cca9751faa3cb6e2ec79b0b0591293245603fdc25f593d3115d9d8dbb9eb6dc7ddb8880723753813a704a5798f21"
      "3fccd3f6c83e7cc4ef717f6693f23f61247916622260c09b085d3fc958ae6757ea96bfafcdddfae96eed6342281b93a45037"
      "d6c1e889c16306e984b5b238e7486d5dfdc0a93a71a77d40569a6e91e717688658864e5de9ff2a895f838da548a86fe83447"
      "716939c6858b6cc4be25535bdfc808b5dfc5576bda950e6494aaacf8458b773022788fe934d8461ba5f2657b82e556d2d38e"
      "0c2656182948d6a5bd8532af234c8bbf7ce5a8909ebc5ab4f30203010001a350304e301d0603551d0e04160414e1f58593c5"
      "4a947e2c722ad0019fcb1098819b2e301f0603551d23041830168014e1f58593c54a947e2c722ad0019fcb1098819b2e300c"
      "0603551d13040530030101ff300d06092a864886f70d010105050003820101000d13d36ef2cd24e5c6e1acb954db825ebff7"
      "5ceff2b273809a7bb8c0a9f7e70c8cd327ba1d5bfedbf5a91801cae4ccf355d3093c1feee3e3f9920413428e51e6f2a4d4d5"
      "c7a095e2a13bd76186bb8b46f9c360df24e2400b32a7927d90571b6f8706676c626d2d9317b8c0ab50e9eac0ca0ff78a6cf9"
      "b9d84b2beeffd53a3178d9156f7e9016526d291eb0b1d85720c47da512dfe4629487b7a44f46a6f4d68591aad9fb753e5851"
      "85124ef762356e299301744b7a63cdf431b639f0c6fa53bfa666ffe563c5d1d712dbe338d1d697fc09391879312bb5668ca8"
      "ab8a21a834e8d120493b2691ab3ccdd206ab535e3c1a7b9a8b28e289cb559b90363f20cec0a7160301018d0c0001890040da"
      "583c16d9852289d0e4af756f4cca92dd4be533b804fb0fed94ef9c8a4403ed574650d36999db29d776276ba2d3d412e218f4"
      "dd1e084cf6d8003e7c4774e83300010200407354e88a85dae6e781af9f58cd188da3994663765ce3c0b245dbe8d8b3814c00"
      "d109e9e72d6f432936eb9e226bc8e6d8859f2f15a833cff480e15b32b799905801004e4da2eead1f91dbaba87e35f0c96ea8"
      "57a3cb46918ca1960e898397d513823a1f9d5652fb513bba492247850d2689dc6f8e4cd33ea36ed1d2e47d97e83e8f5c0ed1"
      "21006899ebd89914d377702b8840ae0d8e98f2fdf20a4dbc0ec33fee2c8a1642bfd1f9bf60f1c8c2134ddfac2a859f69e08e"
      "540c30ec1d8879159fc18c8409fcadc8a6171839ed2de94f70c7c2b0a69d78c964c00bea75836ae57e9aa13dc8cfbfc78e2f"
      "be264e6c8df2006c8f09249bc3a8b61e276b0267e4570862f529b938b9b8f2249cd5bbb0eb48389592e960cc58c59475dd95"
      "e3e9ea6f4fd4b52e14aac7b3c9c79ee0eb04342710572424ba7340365444fed6866c04ada7ce163016030100040e000000",
    }},
    {DIR_C2S, 8, {
      "1603010046100000420040ae0fe24b2e72e326065018c87ab70af1847781803c92b4f435eca3a5676118d48ad5558234dd07"
      "7f0d30a5c879ad7124bb11e22b5caac97ab89d9080efcde14114030100010116030100307f887c312b605b4b98e7aa18e1e0"
      "c089341d8cbb4b910cead5b111802ff44d9e6e92108ef6da05599853879637eea8c4",
    }},
    {DIR_S2C, 9, {
      "16030100aa040000a60000000000a06cc14be47a8bed6a7ab8483548acc738ea81ce02c80f4c5d6faecd8993165fca53df1a"
      "dcbf2b7a366a0156c37d970944062b0351fccd3d82ea38a515e5d2c869941a793a2a953e4dba4105efd2f411ac9bf5fa76fa"
      "1c6ca162af0f5be7f182c096e6b9cf42cc06dab45e1998ac81249e76a55351398bc61edfdc734ed6b0977f874ef54c8004c0"
      "fa1045026c2f65302b401cd1f1f00d6912615894ec71f4bc291403010001011603010030e5a7d8511f72b22d0ba0d1cfdd24"
      "e06aa9d89c39f2f36837b7412d478a98bb2f758c7e09486dc539d3e364144e866cd3",
    }},
    {DIR_C2S, 11, {
      "1503010020aa7b9b7980d37675d3e3509155242116b7f1404ceaadc9536c0e9c465ff99a7e",
    }},
};

/* zeek-tls13-hrr-out-of-order.pcap (shared corpus): client frames 4 (ClientHello), 8 (CCS + second ClientHello),
 * 13 (protected Finished), 16 (protected 19-byte record); server frames 6 (HelloRetryRequest + CCS), 11 (ServerHello
 * + start of a 1248-byte protected record; captured after frame 9 but earlier in sequence space, so delivered first
 * here as the flow table would), 9 (rest of that record), 14 (protected 517-byte record).
 * TLS 1.3 (0x0304), TLS_AES_256_GCM_SHA384 (0x1302). */
static const struct step vec_tls13_hrr[] = {
    {DIR_C2S, 4, {
      "16030100e7010000e3030330f1903e37d4f598a70d696a9172b296c96852c9dae4a3c9ca6b49d2021668a1201a6bb8368add"
      "0e28015bd6cced648236f49e2407f19653ac1fdd1ffa48bfaecd000813021303130100ff01000092000b000403000102000a"
      "00080006001500170018002300000016000000170000000d001e001c040305030603080708080809080a080b080408050806"
      "040105010601002b0003020304002d000201010033003f003d0015003904742beee2f40d71fd7de442c4829450b081225514"
      "e22c5d87b47fc5958bccc7ff69835d7731166b62e92de516b8af90fe45cbb056ce364f40",
    }},
    {DIR_S2C, 6, {
      "1603030058020000540303cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c201a6bb8368add"
      "0e28015bd6cced648236f49e2407f19653ac1fdd1ffa48bfaecd130200000c002b00020304003300020017140303000101",
    }},
    {DIR_C2S, 8, {
      "14030300010116030300ef010000eb030330f1903e37d4f598a70d696a9172b296c96852c9dae4a3c9ca6b49d2021668a120"
      "1a6bb8368add0e28015bd6cced648236f49e2407f19653ac1fdd1ffa48bfaecd000813021303130100ff0100009a000b0004"
      "03000102000a00080006001500170018002300000016000000170000000d001e001c040305030603080708080809080a080b"
      "080408050806040105010601002b0003020304002d000201010033004700450017004104770706eba5d90622e4115a2843af"
      "eba4b1f4ed9b39eb099398580d4ee221f81d794dc569ecc7d73a27bebd24490423234aa153cb870dbd2ce5a7583e6cbc3d01",
    }},
    {DIR_S2C, 11, {
      "160303009b020000970303c962a48cac6114d391e8632c6cdced9c2075d7ebb83b45a89373e8713a553fe6201a6bb8368add"
      "0e28015bd6cced648236f49e2407f19653ac1fdd1ffa48bfaecd130200004f00330045001700410465fe52a19686b5dd1de1"
      "0c56f38094ae842ef60f5111ec0e0ee17d392e54ec4216489b6ecb622c5c884d9026e24a42990c4459f229ccee0d30dfc2a3"
      "67f963d8002b0002030417030304e007829f086e646e9361f2dc2080946ad3206f7a09b9ca3e0810be120596c55423ab3548"
      "51e91e3e99f91f40a7fee8d05a00e35ea6310d531d72ed0101da41a5bbb25817e184b609ce5cd0eef5e98129290b55b87ee1"
      "ae5dffe4d20d65a4e0ffa8f2e68aa37f537dce5705f2e0227c3d963d51dd53a1bbe843f7ed4de5cf6fa57babf185275c6c44"
      "7edfe5808de158e3a37385f8406e5653c33b45c5986ec0423b5279db5965fffe22086e89f0ebd5ce2b74e4d690534bfb23f4"
      "7bf98aa856de5b2bde2704d83ea3ff550179fcc1cee3a691cb55317a4d9d855f14379252cf47742b3061e31d0fd813cb0c13"
      "bf18e004c1370583305044208e31087ba34093e5fdcafe79862f22ad7397ec9e8e224903658706e9ad01bb3cf3eaea06ef1e"
      "102dab3eaabc18f0305818910a792cdbd9997b2691b33766be64b6c5e5148b47cfb760aaeb4986baab8f4fdf1b473b874397"
      "ba749060035b9e5d106922082c95fd2a485bcdd0934ab57b94748bfb309f2c8e72b67781fe02245b8e6d0df81a763c47181c"
      "f2872f6f3e0ec71b89ae6c85383e7e3b4b07e4b4d8ce6a3d3aaebdaa3cd72b16167357420cd0b08b50592bc32270833bfed5"
      "8f76ebf31c2bbc4e05e13fa3285208825a750b416709054bccf2dc72664abddede032caf7b9b90df9418aab74ad30dcafec7"
      "0073279fc58feb60190ac7b85adc16b93dcf1b98181981d271fcb7cd2c28d0835ce5e6b546700713d3d521babb6cc0d98f4d"
      "23e7548a9c8ecda5d57c6070e1c6bf67a07314621b4af5ca63c25f949bdcdf78b97e356f6d68dc4a896839d4c80aa75d66be"
      "ac005ac7a9212cdd9757b9a21fc6f5b8c1670873f6fecb8def3bac2f25bb4e845560d9d3f041bc3591af7fa52c4621c69a8d"
      "64fab249f92a785d9689dc524059f46d1bc2adbc32d9709fdaf954230240e64c615c8221a1ea92d63a1439bc1d21b3d89482"
      "e5958b6fafda03a82270b9274d2d654d3c56b261093b181b97007db19fb4c6ac13e7fc30def457d59804a21992caebb3a9d0"
      "e4b5593f67cc301ec542710fc1e080f7274ec3bffdc1ed068ee1013a8ccb4f180403193f4c8a945f7e7b5f208899aa14c31a"
      "c1714866b34508a0d2fd4d7d42b7fdc53f2e78b126da03e8a3f70fb97c4ade5021cbc76fb95f3c0aa031b9ced052ce75795c"
      "c749e8777df9381cbe96f86e20eafc463c6e2624d0d6738f2af94e0c3ce7b1a58a9863a249e4835f73724bc6a018f243bde7"
      "6cb217d554d6e859b6d88cb765a69bcc1a0e70811d3f400032db99494027cbfc9f3a219cbee8a98c75cdd0465ef2334ab134"
      "2aad12dd628e8139e365725b399b59e6589e92f45756f7557fd500912be1bbcd8eea985a96a4a25c075989d2e38466977bb6"
      "3f7c2d7bcf31287eb9ee32b4e4f52bafa8030bfbf96bff0bc84ce9e5741b638b07797f30ffdd16df658a7b6dc5b5cb70cad4"
      "8aaec969c205e6354f9f3f370b9cb67ce4159730102bcbd15f32d8ccc1b757a4e5f9dd8f61b4a10eaf9079a9bd33146dffaf"
      "d504846f93563071071ca27bd1a462ab595a5b970c28f252030c68582056f2d87edce89f94aac02e3e7eab9fa3ee376c5189"
      "2128e5a74cc704151f8b50cb19c15a3501a28de26af19678ec5ae6e07a2d04596bc6e6795b5b6e0fd7bc26e9a7e3bd8e64ac"
      "17a01b1a5c61867b6a48a1be85d0bab48f12",
    }},
    {DIR_S2C, 9, {
      "6f8c43b7d2f1726c619a0127eb831a51e4e349f0c7b4c87814a6fd593ac1dec78a0a63c9f7085cb6a57846605c",
    }},
    {DIR_C2S, 13, {
      "1703030045b15d728d13afb2083fb982d088e201ce4fa72cc46f50d541c4095b186bca0758cfbc1b6a7cce594f7ddf5326df"
      "0b9ac0e0cdfc2edf34b0a8f8afe444d38b743882a03f55a6",
    }},
    {DIR_S2C, 14, {
      "170303020512873b5643352579aa91a848e3c867c840459eea59042730812efc44e967bdb828f9431a3824f92ae29d5a7e2c"
      "80248f283c915bd8957e63d3d200d789a48713f1d1fc969268a12a650409654f784cfe99ef3ce985081381431f402803d438"
      "eb32e33ea0218c09308b2a937df5afaea956e4b8c98883256c9b68ed3435cc3189fa2c9c64bb4834b427566bb72726766587"
      "8977ce33f565ceab872bec89da54b57aac067955a80d3c5cfcef2ffef22a5bb2153599b47ac0b4dea12ce8944ae41506dc30"
      "2c7ad28bcb5dd70b157d956cc6a33a6bfcd38cfb5e81e07e4ede547f321139e47b8901d42e4cf46f2af2a8bb1bb90859f9a9"
      "d70de2a880156f9fab517dccec8b1a21326bfa94c4227d659fe994cc931965968a730545769bd12aba6d0bd66769dc70f068"
      "dfbd0691b20ad6128a957510297f32b6b5191b23532b47ba919c5b47c41d84c7b3decdc4adfb40181c8ab72454026f9b1bd1"
      "67b97e4d2d4abb3bc1573e8ba2e8de28c8c8aa6da7c2c33e4f77bb984bfde14218036d33aaafe2edcc07f1bd537414f94a70"
      "75480551c60c95483cd98f1e676b064ab6768a5661ee08e5041d3a330e2caa54020471f61965308e52914741eac35b6af3a7"
      "232ef4be68353aa53bf39207316a7e861854c54b9c14d8bb60ebec29738d160cc9b43b34bdf1691e3c43c225116ec023c3b2"
      "e1fa5cb0c9fb47185f44befdf181f6acf5d8fe73ceba",
    }},
    {DIR_C2S, 16, {
      "17030300138c74509c96e7d2fa62480d7170a155feefd2a3",
    }},
};

/* mercury-encrypted-hs-looks-like-hellorequest.pcap (shared corpus): its single frame, from port 443 mid-connection:
 * a 40-byte handshake record of protected bytes (tshark reads a ServerHello with suite 0x2175 and a HelloRequest)
 * and a 1472-byte application data record. */
static const struct step vec_trap[] = {
    {DIR_S2C, 1, {
      "160303002802000000000000007c5d0424366d598fc0ade00d01dd3c7524250004317c0f90f9307be83221b51017030305c0"
      "0200000000000001d3fbac1ff7b7c379c2ef9053b0571555a6d18dae3a4b261234de6eb7e79aed0be6e94bfc3e725e7c968c"
      "b5100a35a6c508acf3bc39193b4867c2ffd855cee3e260d4ddb7509253df1c8e0a1ec26b9cfe6c8ce5bb8d80430ac7c2bced"
      "2c6a794d026d1a2502eab9d106c5a185a921802843d2301fe5bf0ad274398d80945cb1ced2210b86df9ccfc7347782cdd0b3"
      "47fc4b308e9bff82a1fd69938402a5386b949a67a257e909cf217563aa2ba66b4ec2b7604387e7fad42e593381b3220513eb"
      "22620a72f211766bc00efdcb1f0336d62c2670233404410c57da8b551047f577febdc3d9a2aa1dcdb4adb8ad51c2ac43bc22"
      "21583f6c8c9d4fe5c76c1e3ae7a0a95d7c9b665152b282d00750c242951f8ae81957567f4a6fbc203b7246a82a52b50de653"
      "77866e587e479815ccb3086b07320d6b14f20ab934b52be81ec297f8d5d53c1bbd93a02a8da6c4def8e843e57628069c4823"
      "b927a36059071bc25066b547135c1cbb4f39748a34a9c9f8ade695b0d0a359cc26f5402038d39f491b0cdd5ab9955cdc93c8"
      "88bddb957aad071d1f6b5ba378a6e36354e759145a307753433c835e441170a0604f354040c0b9c4644bd3a6775b6a9045f7"
      "1240365211fabae64c579015695cd5134bf171c394b39ec58e2a77562f4935a58a5af5323b400ff583b2f29ab89f9907e73a"
      "abd6fd53270d41e62824f50902af3565ce35e297c8f73068117bf644978ddef657fa8f54e92ab83580fa9ecba57201ce4c4c"
      "2d58435ab08260d4bfe300c083f503a5ae63728fbb7454d3dadc5f6475cf1d2af4fc6fbb1dfe218892564908ffb9c9c997f8"
      "32e4aa56f8ce86e5570a58ee2649eab503051decf620035d57259ea033138bff945dd9726b8f9348723e10f032865807c0df"
      "a1b2b8c73165b48a561b6cfa17324e41a337a2789f3fb1f983bfe0bea0277ebf52faf17c94488144111a90ea5e1b18ee10ff"
      "47c71eea4eb97cca074088045f52ee34bc7a2a50bd42bb6b19deb624538f10dcbd74bd973d2c6378ac3db69283fbb334585e"
      "af7d8305154adb425d189232931855e5f26ce34df4bbf68632a6ba268afff918d0cae40e55d3ba8db6b467da5395f08d603c"
      "c7cea85c0c414352fbc277145a534c7a03287281b1876b413fab7438c305a513ca82ad589be861ef40574f521e80adad9304"
      "77c32f8b307d71021ffb17dd2bb7eae94fdde4a8fa8c0a02e2a9dc4735d30a4733004bc406ec404b814f9a63617925758c89"
      "5ce3a4386e7808cd32aefae2b90f9452c59bc2a7db8fa92a4d60e20f281230cf36abfe3569e1efb0588ff42032ce9b6910e9"
      "3df40a67cf21e85c3335dd99bb6052b70b1aff9ebb76d49beb5d892820471e2b6579237bbea935b7365e856cfcb6f1b08c20"
      "29933870e4032ea6da52795adc5041393629080b0f579d63f384744f0c6fa4a52c73fd2eff86d89e969a8fe4dfc599987f43"
      "61737edfb48193b51a7a550dd1161b380a046ce17a5055908be0eabcdaaf7ed3e2a6ea6b14fdd79aa2b5ff7e2f162d90ec01"
      "12977f234d35ce1026a4100a387e355b34637f4a88abacd92d884e6f07f8b7911266658925279eb7429f0bbdc2a75d5ebb8e"
      "4706c0e0035bc1b4242f5b5b5dbf892965a73651d8dfa09010d17759f59c7ced484fd10fa3e1d2fb38522ab6be49a265cfbe"
      "cf520e4e233133f12022da65103aeae8966df01aa67d294270e14dc6e61e60f912b39ca89a908095472d4a27335a4b91d223"
      "3b39bcc6d97f6f149f7f032252e62b96cba5e3a89278676c2506291e0e060b5b3fcb7cbce09122b81f2cb43058522989eab2"
      "529abb1f548712fba98e938a657acc4bbdaa5097134e64300d72f74176edad8ba858fbe32ee5730d54bf89d102eba8faaaf1"
      "a07328229a888a9350fa36e4d80882589c33463ccb94b85f9f621d62ade091ae66f1130155f4aa9d848488310a9c8fb65d04"
      "968d49fd63505e69a18555bf2178718456d5a55190375ed74278c46fdb5c61b693e1890ffb965de03fd733053a8ab56f1fef"
      "45548b8fa65476abdb34471d1eea42e411be45b46892",
    }},
};

/* --- harness --- */

struct harness {
    struct td_tls_conn *c;
    uint64_t off[2];
};

static void h_init_limits(struct harness *h, const struct td_limits *l)
{
    h->c = td_tls_conn_new(l, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h->c);
    h->off[0] = 0;
    h->off[1] = 0;
}

static void h_init(struct harness *h)
{
    struct td_limits l = td_limits_default();
    h_init_limits(h, &l);
}

static void h_feed(struct harness *h, int dir, const uint8_t *p, size_t n, uint64_t frame)
{
    td_tls_conn_data(h->c, dir, p, n, h->off[dir], frame, (int64_t)frame * 1000);
    h->off[dir] += n;
}

static void h_gap(struct harness *h, int dir, uint64_t n, uint64_t frame)
{
    td_tls_conn_gap(h->c, dir, h->off[dir], n, frame, (int64_t)frame * 1000);
    h->off[dir] += n;
}

static const struct td_tls_facts *h_finish(struct harness *h, uint64_t frame)
{
    td_tls_conn_finish(h->c, frame, (int64_t)frame * 1000);
    return td_tls_conn_facts(h->c);
}

static void h_free(struct harness *h)
{
    td_tls_conn_free(h->c);
    h->c = NULL;
}

/* Decoded capture vectors. */
#define MAX_STEPS 16
struct vec {
    size_t num;
    int dir[MAX_STEPS];
    uint64_t frame[MAX_STEPS];
    uint8_t *p[MAX_STEPS];
    size_t len[MAX_STEPS];
};

static void vec_load(struct vec *v, const struct step *steps, size_t num)
{
    CU_ASSERT_FATAL(num <= MAX_STEPS);
    v->num = num;
    for (size_t i = 0; i < num; i++) {
        v->dir[i] = steps[i].dir;
        v->frame[i] = steps[i].frame;
        size_t hex_len = 1;
        for (size_t k = 0; k < 4 && steps[i].hex[k] != NULL; k++) {
            hex_len += strlen(steps[i].hex[k]);
        }
        char *hex = calloc(1, hex_len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(hex);
        for (size_t k = 0; k < 4 && steps[i].hex[k] != NULL; k++) {
            strcat(hex, steps[i].hex[k]);
        }
        v->p[i] = td_test_hex(hex, &v->len[i]);
        free(hex);
    }
}

static void vec_free(struct vec *v)
{
    for (size_t i = 0; i < v->num; i++) {
        free(v->p[i]);
    }
    v->num = 0;
}

static void vec_feed(struct harness *h, const struct vec *v, size_t first, size_t num)
{
    for (size_t i = first; i < first + num && i < v->num; i++) {
        h_feed(h, v->dir[i], v->p[i], v->len[i], v->frame[i]);
    }
}

/* Hand-built byte streams. */
struct bytes {
    uint8_t *p;
    size_t len, cap;
};

static void b_put(struct bytes *b, const uint8_t *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        uint8_t *q = realloc(b->p, cap);
        CU_ASSERT_PTR_NOT_NULL_FATAL(q);
        b->p = q;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, p, n);
    }
    b->len += n;
}

static void b_hex(struct bytes *b, const char *hex)
{
    size_t n;
    uint8_t *p = td_test_hex(hex, &n);
    b_put(b, p, n);
    free(p);
}

static void b_fill(struct bytes *b, uint8_t v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        b_put(b, &v, 1);
    }
}

/* b_record: TLS record header (RFC 5246 §6.2.1): type, version 3.3, uint16 length. */
static void b_record(struct bytes *b, uint8_t type, size_t body_len)
{
    uint8_t h[5] = {type, 3, 3, (uint8_t)(body_len >> 8), (uint8_t)body_len};
    b_put(b, h, sizeof(h));
}

/* b_record_hex: a record whose body is the given hex. */
static void b_record_hex(struct bytes *b, uint8_t type, const char *hex)
{
    size_t n;
    uint8_t *p = td_test_hex(hex, &n);
    b_record(b, type, n);
    b_put(b, p, n);
    free(p);
}

static void b_reset(struct bytes *b) { b->len = 0; }
static void b_free(struct bytes *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Hand-built handshake messages (msg_type, uint24 length, body). */
#define R32_11 "1111111111111111111111111111111111111111111111111111111111111111"
#define R32_22 "2222222222222222222222222222222222222222222222222222222222222222"
/* ClientHello (RFC 5246 §7.4.1.2): client_version 3.3, random, empty session_id, cipher_suites {0xc02f},
 * compression_methods {null}, no extensions: 2 + 32 + 1 + 4 + 2 = 41 (0x29) bytes. */
#define HS_CLIENT_HELLO "01000029" "0303" R32_11 "00" "0002c02f" "0100"
/* ServerHello (RFC 5246 §7.4.1.3): server_version 3.3, random, empty session_id, suite 0xc02f, compression 0:
 * 2 + 32 + 1 + 2 + 1 = 38 (0x26) bytes. */
#define HS_SERVER_HELLO "02000026" "0303" R32_22 "00" "c02f" "00"
#define HS_SERVER_HELLO_DONE "0e000000"
/* CertificateRequest (RFC 5246 §7.4.4): certificate_types {rsa_sign}, supported_signature_algorithms {0x0401},
 * empty certificate_authorities: 8 bytes. */
#define HS_CERT_REQUEST "0d000008" "0101" "00020401" "0000"
/* ClientKeyExchange, ECDHE (RFC 8422 §5.7): ECPoint<1..255> of 32 bytes: 33 (0x21) bytes. */
#define HS_CLIENT_KEY_EXCHANGE "10000021" "20" R32_11

/* tls12_handshake feeds a TLS 1.2 full handshake: frame 1 ClientHello; 2 ServerHello (+ CertificateRequest),
 * ServerHelloDone; 3 ClientKeyExchange, ChangeCipherSpec, protected Finished (40 bytes); 4 server
 * ChangeCipherSpec, protected Finished. */
static void tls12_handshake(struct harness *h, bool cert_request)
{
    struct bytes b = {0};
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(h, DIR_C2S, b.p, b.len, 1);
    b_reset(&b);
    b_record_hex(&b, 22, cert_request ? HS_SERVER_HELLO HS_CERT_REQUEST HS_SERVER_HELLO_DONE
                                      : HS_SERVER_HELLO HS_SERVER_HELLO_DONE);
    h_feed(h, DIR_S2C, b.p, b.len, 2);
    b_reset(&b);
    b_record_hex(&b, 22, HS_CLIENT_KEY_EXCHANGE);
    b_record_hex(&b, 20, "01");
    b_record(&b, 22, 40);
    b_fill(&b, 0xe1, 40);
    h_feed(h, DIR_C2S, b.p, b.len, 3);
    b_reset(&b);
    b_record_hex(&b, 20, "01");
    b_record(&b, 22, 40);
    b_fill(&b, 0xe2, 40);
    h_feed(h, DIR_S2C, b.p, b.len, 4);
    b_free(&b);
}

/* --- fact helpers --- */

struct hs_ev {
    uint8_t role;
    int32_t detail;
    uint64_t frame;
};

static size_t hs_events(const struct td_tls_facts *f, struct hs_ev *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < f->num_events && n < max; i++) {
        if (f->timeline[i].kind == TD_EV_HANDSHAKE) {
            out[n++] = (struct hs_ev){f->timeline[i].role, f->timeline[i].detail, f->timeline[i].ev.frame};
        }
    }
    return n;
}

static void check_hs_events(const struct td_tls_facts *f, const struct hs_ev *want, size_t num_want)
{
    struct hs_ev got[64];
    size_t n = hs_events(f, got, 64);
    CU_ASSERT_EQUAL(n, num_want);
    for (size_t i = 0; i < n && i < num_want; i++) {
        if (got[i].role != want[i].role || got[i].detail != want[i].detail || got[i].frame != want[i].frame) {
            printf("\n  handshake event %zu: got role %u type %d frame %llu, want role %u type %d frame %llu", i,
                   got[i].role, got[i].detail, (unsigned long long)got[i].frame, want[i].role, want[i].detail,
                   (unsigned long long)want[i].frame);
            CU_FAIL("handshake event differs");
        }
    }
}

static unsigned count_anomaly(const struct td_tls_facts *f, enum td_anomaly code)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < f->num_anomalies; i++) {
        n += f->anomalies[i].code == code;
    }
    return n;
}

static void print_anomalies(const struct td_tls_facts *f)
{
    for (uint32_t i = 0; i < f->num_anomalies; i++) {
        printf("\n  anomaly %s frame %llu role %u", td_anomaly_name(f->anomalies[i].code),
               (unsigned long long)f->anomalies[i].ev.frame, f->anomalies[i].role);
    }
}

/* signature renders the facts that must not depend on how the bytes were cut into deliveries. */
static void signature(const struct td_tls_facts *f, char *out, size_t out_len)
{
    size_t n = 0;
    int w = snprintf(out, out_len, "tls=%d v=%04x c=%04x ch=%u sh=%u cr=%llu done=%llu", f->is_tls, f->version,
                     f->cipher, f->client_hellos_seen, f->server_hellos_seen,
                     (unsigned long long)(f->cert_request ? f->cert_request->ev.frame : 0),
                     (unsigned long long)f->handshake_done.frame);
    n = w > 0 ? (size_t)w : 0;
    for (uint32_t i = 0; i < f->num_events && n < out_len; i++) {
        const struct td_event *e = &f->timeline[i];
        w = snprintf(out + n, out_len - n, " e%u/%u/%d/%u/%llu", e->kind, e->role, e->detail, e->len,
                     (unsigned long long)e->ev.frame);
        n += w > 0 ? (size_t)w : 0;
    }
    for (uint32_t i = 0; i < f->num_anomalies && n < out_len; i++) {
        w = snprintf(out + n, out_len - n, " a%d/%llu", (int)f->anomalies[i].code,
                     (unsigned long long)f->anomalies[i].ev.frame);
        n += w > 0 ? (size_t)w : 0;
    }
    for (int r = 0; r < 2 && n < out_len; r++) {
        for (int t = 0; t < 5 && n < out_len; t++) {
            w = snprintf(out + n, out_len - n, " n%d/%d=%llu/%llu", r, t,
                         (unsigned long long)f->counts[r].records[t], (unsigned long long)f->counts[r].bytes[t]);
            n += w > 0 ? (size_t)w : 0;
        }
    }
}


/* --- tests --- */

/* Real TLS 1.2 flight with a CertificateRequest, then the server's plaintext fatal alert (tshark: frame 9,
 * handshake_failure(40), level fatal). */
static void test_certreq_capture(void)
{
    struct vec v;
    vec_load(&v, vec_certreq, sizeof(vec_certreq) / sizeof(vec_certreq[0]));
    struct harness h;
    h_init(&h);
    vec_feed(&h, &v, 0, v.num);
    const struct td_tls_facts *f = h_finish(&h, 9);
    CU_ASSERT(f->is_tls);
    CU_ASSERT(!f->roles_swapped);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 1);
    CU_ASSERT_EQUAL(f->server_hellos_seen, 1);
    CU_ASSERT_EQUAL(f->version, 0x0303);
    CU_ASSERT_EQUAL(f->cipher, 0xc030);
    const struct hs_ev want[] = {{0, 1, 4},  {1, 2, 6},  {1, 11, 6}, {1, 12, 6}, {1, 13, 6},
                                 {1, 14, 6}, {0, 11, 8}, {0, 16, 8}, {0, TD_HS_FINISHED, 8}};
    check_hs_events(f, want, sizeof(want) / sizeof(want[0]));
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->cert_request);
    CU_ASSERT_EQUAL(f->cert_request->ev.frame, 6);
    CU_ASSERT_EQUAL(f->cert_requests_seen, 1);
    CU_ASSERT_PTR_NOT_NULL(f->server_certs);
    CU_ASSERT_EQUAL(f->ccs[TD_ROLE_CLIENT].frame, 8);
    CU_ASSERT_EQUAL(f->encrypted_from[TD_ROLE_CLIENT].frame, 8);
    CU_ASSERT_EQUAL(f->finished[TD_ROLE_CLIENT].frame, 8);
    CU_ASSERT_EQUAL(f->ccs[TD_ROLE_SERVER].frame, 0);
    CU_ASSERT_EQUAL(f->handshake_done.frame, 0);
    CU_ASSERT_EQUAL(f->kx.ske_ev.frame, 6);
    CU_ASSERT_EQUAL(f->kx.cke_ev.frame, 8);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT_EQUAL(f->alerts[0].role, TD_ROLE_SERVER);
    CU_ASSERT(!f->alerts[0].encrypted);
    CU_ASSERT_EQUAL(f->alerts[0].level, 2);
    CU_ASSERT_EQUAL(f->alerts[0].description, 40);
    CU_ASSERT_EQUAL(f->alerts[0].ev.frame, 9);
    CU_ASSERT_EQUAL(f->alerts[0].after_msg, TD_HS_FINISHED);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    CU_ASSERT_EQUAL(f->outcome_role, TD_ROLE_SERVER);
    CU_ASSERT_EQUAL(f->outcome_alert, 40);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 9);
    /* records by type: client CH, Certificate, CKE, Finished + one CCS; server one record per message + alert */
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[2], 4);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[0], 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].records[2], 5);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].records[1], 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].bytes[2], 65 + 2948 + 556 + 88 + 4);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    print_anomalies(f);
    h_free(&h);

    /* The same flight answered by the client with a plaintext fatal illegal_parameter(47) instead. */
    h_init(&h);
    vec_feed(&h, &v, 0, 2);
    struct bytes b = {0};
    b_record_hex(&b, 21, "022f");
    h_feed(&h, DIR_C2S, b.p, b.len, 7);
    f = h_finish(&h, 7);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT_EQUAL(f->alerts[0].description, 47);
    CU_ASSERT_EQUAL(f->alerts[0].after_msg, TD_HS_SERVER_HELLO_DONE);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    CU_ASSERT_EQUAL(f->outcome_role, TD_ROLE_CLIENT);
    CU_ASSERT_EQUAL(f->outcome_alert, 47);
    CU_ASSERT_EQUAL(f->outcome_after_msg, TD_HS_SERVER_HELLO_DONE);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 7);
    b_free(&b);
    h_free(&h);
    vec_free(&v);
}

/* ClientHello and the server's flight split into two deliveries at every byte boundary, and fed one byte at a
 * time: the facts must equal those of the unsplit run. */
static void test_split_every_boundary(void)
{
    struct vec v;
    vec_load(&v, vec_certreq, sizeof(vec_certreq) / sizeof(vec_certreq[0]));
    static char ref[65536], got[65536];
    struct harness h;
    h_init(&h);
    vec_feed(&h, &v, 0, 2);
    signature(h_finish(&h, 6), ref, sizeof(ref));
    h_free(&h);
    CU_ASSERT_PTR_NOT_NULL(strstr(ref, "ch=1 sh=1 cr=6"));
    unsigned mismatches = 0;
    for (size_t s = 0; s < 2; s++) {
        for (size_t cut = 1; cut < v.len[s]; cut++) {
            h_init(&h);
            for (size_t i = 0; i < 2; i++) {
                if (i != s) {
                    h_feed(&h, v.dir[i], v.p[i], v.len[i], v.frame[i]);
                    continue;
                }
                h_feed(&h, v.dir[i], v.p[i], cut, v.frame[i]);
                h_feed(&h, v.dir[i], v.p[i] + cut, v.len[i] - cut, v.frame[i]);
            }
            signature(h_finish(&h, 6), got, sizeof(got));
            if (strcmp(ref, got) != 0 && mismatches++ == 0) {
                printf("\n  step %zu cut %zu:\n  ref %s\n  got %s", s, cut, ref, got);
            }
            h_free(&h);
        }
    }
    CU_ASSERT_EQUAL(mismatches, 0);

    /* The whole capture, one byte per delivery. */
    h_init(&h);
    vec_feed(&h, &v, 0, v.num);
    signature(h_finish(&h, 9), ref, sizeof(ref));
    h_free(&h);
    h_init(&h);
    for (size_t i = 0; i < v.num; i++) {
        for (size_t k = 0; k < v.len[i]; k++) {
            h_feed(&h, v.dir[i], v.p[i] + k, 1, v.frame[i]);
        }
    }
    signature(h_finish(&h, 9), got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(ref, got);
    h_free(&h);
    vec_free(&v);
}

/* A ServerHello fragmented over two records, the second record's header split across two segments: the message's
 * evidence is the frame that completed the record holding its last byte. Then a handshake header split across
 * records, and a 20000-byte message spanning two records. */
static void test_message_spanning_records(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    b_reset(&b);
    /* ServerHello is 42 bytes: 12 in the first record (header, version, 6 random bytes), 30 + ServerHelloDone
     * in the second. */
    b_record_hex(&b, 22, "02000026" "0303" "222222222222");
    b_record_hex(&b, 22, "2222222222222222222222222222222222222222222222222222" "00" "c02f" "00" HS_SERVER_HELLO_DONE);
    size_t first_len = 5 + 12 + 3;
    h_feed(&h, DIR_S2C, b.p, first_len, 2);
    h_feed(&h, DIR_S2C, b.p + first_len, b.len - first_len, 3);
    const struct td_tls_facts *f = td_tls_conn_facts(h.c);
    const struct hs_ev want[] = {{0, 1, 1}, {1, 2, 3}, {1, 14, 3}};
    check_hs_events(f, want, 3);
    CU_ASSERT_EQUAL(f->version, 0x0303);
    CU_ASSERT_EQUAL(f->cipher, 0xc02f);
    CU_ASSERT_EQUAL_FATAL(f->num_server_hellos, 1);
    CU_ASSERT_EQUAL(f->server_hellos[0]->ev.frame, 3);

    /* CertificateRequest whose 4-byte header is split 1 + 3 over two records (frames 4 and 5). */
    b_reset(&b);
    b_record_hex(&b, 22, "0d");
    b_record_hex(&b, 22, "000008" "0101" "00020401" "0000");
    h_feed(&h, DIR_S2C, b.p, 6, 4);
    h_feed(&h, DIR_S2C, b.p + 6, b.len - 6, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->cert_request);
    CU_ASSERT_EQUAL(f->cert_request->ev.frame, 5);
    CU_ASSERT_EQUAL(f->cert_request->num_ca_names, 0);

    /* A 20000-byte Certificate: 16384 bytes in one record (frame 6), the rest in the next (frames 7, 8). */
    b_reset(&b);
    b_record(&b, 22, 16384);
    b_hex(&b, "0b004e20" "004e1d" "004e1a");
    b_fill(&b, 0x5a, 16384 - 10);
    b_record(&b, 22, 20004 - 16384);
    b_fill(&b, 0x5a, 20004 - 16384);
    h_feed(&h, DIR_S2C, b.p, 16389, 6);
    h_feed(&h, DIR_S2C, b.p + 16389, 1000, 7);
    h_feed(&h, DIR_S2C, b.p + 17389, b.len - 17389, 8);
    struct hs_ev got[16];
    size_t n = hs_events(f, got, 16);
    CU_ASSERT_EQUAL_FATAL(n, 5);
    CU_ASSERT_EQUAL(got[4].detail, TD_HS_CERTIFICATE);
    CU_ASSERT_EQUAL(got[4].frame, 8);
    CU_ASSERT_EQUAL(f->timeline[f->num_events - 1].kind == TD_EV_HANDSHAKE ? f->timeline[f->num_events - 1].len
                                                                            : f->timeline[f->num_events - 2].len,
                    20000);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HS_MSG_TRUNCATED), 0);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HS_INTERLEAVED), 0);
    b_free(&b);
    h_free(&h);
}

/* A handshake record holding only a 4-byte message header, the body in the next record (fuzz regression
 * tests/fuzz/regressions/dissector/hs-header-alone-in-record: the header used to be followed by an empty copy
 * into the not yet allocated message buffer, undefined behaviour that clang's UBSan reports). */
static void test_header_record_alone(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    b_reset(&b);
    b_record_hex(&b, 22, HS_SERVER_HELLO);
    b_record_hex(&b, 22, "0d000008");
    b_record_hex(&b, 22, "0101" "00020401" "0000");
    size_t first_len = 5 + 42 + 5 + 4;
    h_feed(&h, DIR_S2C, b.p, first_len, 2);
    const struct td_tls_facts *f = td_tls_conn_facts(h.c);
    CU_ASSERT_PTR_NULL(f->cert_request);
    h_feed(&h, DIR_S2C, b.p + first_len, b.len - first_len, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->cert_request);
    CU_ASSERT_EQUAL(f->cert_request->ev.frame, 3);
    CU_ASSERT_EQUAL(f->cert_request->sig_algs.num, 1);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    b_free(&b);
    h_free(&h);
}

/* After ChangeCipherSpec only record headers are read: a 16 KB application data record fed one byte at a time
 * and a record claiming 65535 bytes are skipped without a body buffer; a 1 MiB handshake claim is recorded and
 * skipped, never allocated. */
static void test_encrypted_not_buffered(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    tls12_handshake(&h, false);
    const struct td_tls_facts *f = td_tls_conn_facts(h.c);
    CU_ASSERT_EQUAL(f->handshake_done.frame, 4);
    b_record(&b, 23, 16384);
    b_fill(&b, 0xab, 16384);
    bool buffered = false;
    for (size_t k = 0; k < b.len; k++) {
        h_feed(&h, DIR_C2S, b.p + k, 1, k + 1 == b.len ? 11 : 10);
        buffered = buffered || h.c->dir[DIR_C2S].rec_buf != NULL || h.c->dir[DIR_C2S].hs.buf != NULL;
    }
    CU_ASSERT(!buffered);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[3], 1);
    CU_ASSERT_EQUAL(f->app_data_bytes[TD_ROLE_CLIENT], 16384);
    CU_ASSERT_EQUAL(f->first_app_data[TD_ROLE_CLIENT].frame, 11);

    /* 65535 bytes claimed (over 2^14 + 2048): counted as too long, skipped by length, sync kept. */
    b_reset(&b);
    b_hex(&b, "170303ffff");
    b_fill(&b, 0xcd, 65535);
    b_record(&b, 21, 26);
    b_fill(&b, 0xee, 26);
    for (size_t k = 0; k < b.len; k += 1000) {
        size_t n = b.len - k < 1000 ? b.len - k : 1000;
        h_feed(&h, DIR_C2S, b.p + k, n, 12);
    }
    CU_ASSERT(h.c->dir[DIR_C2S].rec_buf == NULL);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RECORD_TOO_LONG), 1);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RESYNC), 0);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[3], 2);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT(f->alerts[0].encrypted);
    CU_ASSERT_EQUAL(f->alerts[0].ev.frame, 12);
    h_free(&h);

    /* Plaintext Certificate claiming 1 MiB (+ 4 > max_hs_msg_bytes): recorded, not allocated. */
    h_init(&h);
    b_reset(&b);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    b_record_hex(&b, 22, "0b100000" "000000000000000000000000");
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    f = td_tls_conn_facts(h.c);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HS_MSG_TOO_LARGE), 1);
    CU_ASSERT(h.c->dir[DIR_C2S].hs.buf == NULL);
    CU_ASSERT(h.c->dir[DIR_C2S].rec_buf == NULL);
    struct hs_ev got[8];
    CU_ASSERT_EQUAL_FATAL(hs_events(f, got, 8), 2);
    CU_ASSERT_EQUAL(got[1].detail, TD_HS_CERTIFICATE);
    b_free(&b);
    h_free(&h);
}

/* Alerts: several in one record and an odd byte (alert_malformed); an encrypted alert before completion. */
static void test_alerts(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    b_reset(&b);
    /* warning unrecognized_name(112), fatal handshake_failure(40), one stray byte */
    b_record_hex(&b, 21, "0170022800");
    h_feed(&h, DIR_S2C, b.p, b.len, 2);
    const struct td_tls_facts *f = h_finish(&h, 2);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 2);
    CU_ASSERT_EQUAL(f->alerts_seen, 2);
    CU_ASSERT_EQUAL(f->alerts[0].level, 1);
    CU_ASSERT_EQUAL(f->alerts[0].description, 112);
    CU_ASSERT_EQUAL(f->alerts[1].level, 2);
    CU_ASSERT_EQUAL(f->alerts[1].description, 40);
    CU_ASSERT_EQUAL(f->alerts[1].after_msg, TD_HS_CLIENT_HELLO);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_ALERT_MALFORMED), 1);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    CU_ASSERT_EQUAL(f->outcome_alert, 40);
    CU_ASSERT_EQUAL(f->outcome_role, TD_ROLE_SERVER);
    CU_ASSERT_EQUAL(f->outcome_after_msg, TD_HS_CLIENT_HELLO);
    h_free(&h);

    /* Client CCS, then an alert record under the new keys: encrypted, never decoded. */
    h_init(&h);
    b_reset(&b);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    b_reset(&b);
    b_record_hex(&b, 22, HS_SERVER_HELLO HS_SERVER_HELLO_DONE);
    h_feed(&h, DIR_S2C, b.p, b.len, 2);
    b_reset(&b);
    b_record_hex(&b, 22, HS_CLIENT_KEY_EXCHANGE);
    b_record_hex(&b, 20, "01");
    b_record(&b, 22, 40);
    b_fill(&b, 0xe1, 40);
    h_feed(&h, DIR_C2S, b.p, b.len, 3);
    b_reset(&b);
    b_record(&b, 21, 26);
    b_fill(&b, 0x02, 26);
    h_feed(&h, DIR_C2S, b.p, b.len, 4);
    f = h_finish(&h, 5);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT(f->alerts[0].encrypted);
    CU_ASSERT_EQUAL(f->alerts[0].level, 0);
    CU_ASSERT_EQUAL(f->alerts[0].description, 0);
    CU_ASSERT_EQUAL(f->alerts[0].role, TD_ROLE_CLIENT);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    CU_ASSERT_EQUAL(f->outcome_alert, -1);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 4);
    CU_ASSERT_EQUAL(f->encrypted_from[TD_ROLE_CLIENT].frame, 3);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_ALERT_MALFORMED), 0);
    b_free(&b);
    h_free(&h);
}

/* TLS 1.3 with a HelloRetryRequest: the second ClientHello is not renegotiation. Frames from tshark. */
static void test_tls13_hrr(void)
{
    struct vec v;
    vec_load(&v, vec_tls13_hrr, sizeof(vec_tls13_hrr) / sizeof(vec_tls13_hrr[0]));
    struct harness h;
    h_init(&h);
    vec_feed(&h, &v, 0, v.num);
    const struct td_tls_facts *f = h_finish(&h, 16);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 2);
    CU_ASSERT_EQUAL_FATAL(f->num_server_hellos, 2);
    CU_ASSERT(f->server_hellos[0]->is_hrr);
    CU_ASSERT(!f->server_hellos[1]->is_hrr);
    CU_ASSERT_EQUAL(f->version, 0x0304);
    CU_ASSERT_EQUAL(f->cipher, 0x1302);
    CU_ASSERT_EQUAL(f->kx.kind, TD_KX_TLS13);
    const struct hs_ev want[] = {{0, 1, 4}, {1, TD_HS_HELLO_RETRY_REQUEST, 6}, {0, 1, 8}, {1, 2, 11},
                                 {1, TD_HS_FINISHED, 9}, {0, TD_HS_FINISHED, 13}};
    check_hs_events(f, want, sizeof(want) / sizeof(want[0]));
    CU_ASSERT_EQUAL(f->ccs[TD_ROLE_SERVER].frame, 6);
    CU_ASSERT_EQUAL(f->ccs[TD_ROLE_CLIENT].frame, 8);
    CU_ASSERT_EQUAL(f->encrypted_from[TD_ROLE_SERVER].frame, 9);
    CU_ASSERT_EQUAL(f->encrypted_from[TD_ROLE_CLIENT].frame, 13);
    CU_ASSERT_EQUAL(f->finished[TD_ROLE_SERVER].frame, 9);
    CU_ASSERT_EQUAL(f->finished[TD_ROLE_CLIENT].frame, 13);
    CU_ASSERT_EQUAL(f->handshake_done.frame, 13);
    CU_ASSERT_EQUAL(f->first_app_data[TD_ROLE_SERVER].frame, 14);
    CU_ASSERT_EQUAL(f->first_app_data[TD_ROLE_CLIENT].frame, 16);
    CU_ASSERT_EQUAL(f->hs_records_after_done[0] + f->hs_records_after_done[1], 0);
    CU_ASSERT_EQUAL(f->plaintext_hs_after_done[0] + f->plaintext_hs_after_done[1], 0);
    CU_ASSERT_EQUAL(f->hello_requests, 0);
    CU_ASSERT_EQUAL(f->num_alerts, 0);
    CU_ASSERT(!f->resumed);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_ESTABLISHED);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 13);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    print_anomalies(f);
    h_free(&h);

    /* A ClientHello in the clear after completion is a renegotiation attempt in TLS 1.3. */
    h_init(&h);
    vec_feed(&h, &v, 0, v.num);
    struct bytes b = {0};
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, b.len, 20);
    f = h_finish(&h, 20);
    CU_ASSERT_EQUAL(f->plaintext_hs_after_done[TD_ROLE_CLIENT], 1);
    CU_ASSERT_EQUAL(f->hs_records_after_done[TD_ROLE_CLIENT], 1);
    CU_ASSERT_EQUAL(f->first_hs_after_done[TD_ROLE_CLIENT].frame, 20);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 3);
    b_free(&b);
    h_free(&h);
    vec_free(&v);
}

/* TLS 1.3 client authentication refused: the client's protected flight (here a Certificate record and Finished
 * in one segment, as OpenSSL sends them) is answered by one 19-byte server record, an alert such as
 * certificate_required (samples/client-cert-missing-tls13.pcap shows it decrypted). The handshake did not complete.
 * A longer first server record (NewSessionTicket) leaves it established. */
static void test_tls13_refused_after_client_finished(void)
{
    struct vec v;
    vec_load(&v, vec_tls13_hrr, sizeof(vec_tls13_hrr) / sizeof(vec_tls13_hrr[0]));
    for (int refused = 1; refused >= 0; refused--) {
        struct harness h;
        h_init(&h);
        vec_feed(&h, &v, 0, 6); /* through the client's first protected record, frame 13 */
        struct bytes b = {0};
        b_record(&b, 23, 69); /* the rest of the client's flight, same frame */
        b_fill(&b, 0xab, 69);
        h_feed(&h, DIR_C2S, b.p, b.len, 13);
        b_reset(&b);
        size_t server_len = refused ? 19 : 250;
        b_record(&b, 23, server_len);
        b_fill(&b, 0xcd, server_len);
        h_feed(&h, DIR_S2C, b.p, b.len, 15);
        const struct td_tls_facts *f = h_finish(&h, 17);
        const struct hs_ev want[] = {{0, 1, 4}, {1, TD_HS_HELLO_RETRY_REQUEST, 6}, {0, 1, 8}, {1, 2, 11},
                                     {1, TD_HS_FINISHED, 9}, {0, TD_HS_ENCRYPTED, 13}, {0, TD_HS_FINISHED, 13}};
        check_hs_events(f, want, sizeof(want) / sizeof(want[0]));
        if (refused) {
            CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
            CU_ASSERT_EQUAL(f->outcome_role, TD_ROLE_SERVER);
            CU_ASSERT_EQUAL(f->outcome_alert, -1);
            CU_ASSERT_EQUAL(f->outcome_ev.frame, 15);
            CU_ASSERT_EQUAL(f->outcome_after_msg, TD_HS_FINISHED);
            CU_ASSERT_EQUAL(f->handshake_done.frame, 0);
            CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
            CU_ASSERT(f->alerts[0].encrypted);
            CU_ASSERT(f->alerts[0].inferred);
        } else {
            CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_ESTABLISHED);
            CU_ASSERT_EQUAL(f->handshake_done.frame, 13);
            CU_ASSERT_EQUAL(f->num_alerts, 0);
            CU_ASSERT_EQUAL(f->first_app_data[TD_ROLE_SERVER].frame, 15);
        }
        b_free(&b);
        h_free(&h);
    }
    vec_free(&v);
}

/* TLS 1.2: protected handshake records after both Finished are renegotiation evidence (mercury's IMAP capture
 * shows the same shape in frames 24..30). */
static void test_tls12_renegotiation(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    tls12_handshake(&h, false);
    b_record(&b, 23, 32);
    b_fill(&b, 0x71, 32);
    h_feed(&h, DIR_C2S, b.p, b.len, 5);
    h_feed(&h, DIR_S2C, b.p, b.len, 6);
    b_reset(&b);
    b_record(&b, 22, 396);
    b_fill(&b, 0x72, 396);
    h_feed(&h, DIR_C2S, b.p, b.len, 7);
    b_reset(&b);
    b_record(&b, 22, 100);
    b_fill(&b, 0x73, 100);
    b_record(&b, 22, 200);
    b_fill(&b, 0x74, 200);
    h_feed(&h, DIR_S2C, b.p, b.len, 8);
    b_reset(&b);
    b_record(&b, 20, 25);
    b_fill(&b, 0x75, 25);
    b_record(&b, 22, 40);
    b_fill(&b, 0x76, 40);
    h_feed(&h, DIR_C2S, b.p, b.len, 9);
    const struct td_tls_facts *f = h_finish(&h, 9);
    CU_ASSERT_EQUAL(f->handshake_done.frame, 4);
    CU_ASSERT_EQUAL(f->finished[TD_ROLE_CLIENT].frame, 3);
    CU_ASSERT_EQUAL(f->finished[TD_ROLE_SERVER].frame, 4);
    CU_ASSERT_EQUAL(f->hs_records_after_done[TD_ROLE_CLIENT], 2);
    CU_ASSERT_EQUAL(f->hs_records_after_done[TD_ROLE_SERVER], 2);
    CU_ASSERT_EQUAL(f->first_hs_after_done[TD_ROLE_CLIENT].frame, 7);
    CU_ASSERT_EQUAL(f->first_hs_after_done[TD_ROLE_SERVER].frame, 8);
    CU_ASSERT_EQUAL(f->plaintext_hs_after_done[0] + f->plaintext_hs_after_done[1], 0);
    CU_ASSERT_EQUAL(f->hello_requests, 0);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[0], 2);
    CU_ASSERT(!f->resumed);
    CU_ASSERT(!f->false_start);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_ESTABLISHED);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 4);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    print_anomalies(f);
    b_free(&b);
    h_free(&h);
}

/* Gaps: one crossing a record boundary (resync on the next plausible header), one inside a protected body (no
 * resync needed), one inside a plaintext handshake record. */
static void test_gap_resync(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    tls12_handshake(&h, false);
    /* R1 | R2 | R3 | R4 | alert, 32-byte app data bodies */
    for (int i = 0; i < 4; i++) {
        b_record(&b, 23, 32);
        b_fill(&b, 0xab, 32);
    }
    b_record(&b, 21, 26);
    b_fill(&b, 0xac, 26);
    h_feed(&h, DIR_C2S, b.p, 37, 5);          /* R1 */
    h_feed(&h, DIR_C2S, b.p + 37, 15, 6);     /* R2 header + 10 body bytes */
    h_gap(&h, DIR_C2S, 30, 7);                /* rest of R2 (22), R3 header (5), 3 bytes of R3 */
    h_feed(&h, DIR_C2S, b.p + 82, b.len - 82, 8);
    const struct td_tls_facts *f = td_tls_conn_facts(h.c);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RESYNC), 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[3], 3); /* R1, R2 (ended in the gap), R4 */
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT(f->alerts[0].encrypted);
    CU_ASSERT_EQUAL(f->alerts[0].ev.frame, 8);
    bool gap_event = false;
    for (uint32_t i = 0; i < f->num_events; i++) {
        gap_event = gap_event || (f->timeline[i].kind == TD_EV_GAP && f->timeline[i].detail == 30);
    }
    CU_ASSERT(gap_event);

    /* Gap inside a protected body: the boundary is still known. */
    b_reset(&b);
    b_record(&b, 23, 32);
    b_fill(&b, 0xab, 32);
    b_record(&b, 23, 32);
    b_fill(&b, 0xab, 32);
    h_feed(&h, DIR_C2S, b.p, 10, 9);
    h_gap(&h, DIR_C2S, 10, 10);
    h_feed(&h, DIR_C2S, b.p + 20, b.len - 20, 11);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RESYNC), 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[3], 5);
    h_free(&h);

    /* Gap inside the plaintext ClientHello record: it is counted as truncated, never parsed; the next record is. */
    h_init(&h);
    b_reset(&b);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    b_record_hex(&b, 21, "0100");
    h_feed(&h, DIR_C2S, b.p, 15, 1);
    h_gap(&h, DIR_C2S, 20, 2);
    h_feed(&h, DIR_C2S, b.p + 35, b.len - 35, 3);
    f = h_finish(&h, 3);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 0);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RECORD_TRUNCATED), 1);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RESYNC), 0);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[2], 1);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT_EQUAL(f->alerts[0].description, 0);
    CU_ASSERT_EQUAL(f->alerts[0].ev.frame, 3);
    b_free(&b);
    h_free(&h);
}

/* The capture ends inside a record, or inside a message spanning records. */
static void test_truncated_at_end(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, 30, 1);
    const struct td_tls_facts *f = h_finish(&h, 1);
    CU_ASSERT(f->is_tls);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 0);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RECORD_TRUNCATED), 1);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HS_MSG_TRUNCATED), 1);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_INCOMPLETE);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 1);
    h_free(&h);

    h_init(&h);
    b_reset(&b);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    b_reset(&b);
    b_record_hex(&b, 22, "02000026" "0303" "222222222222"); /* first 12 bytes of a ServerHello */
    h_feed(&h, DIR_S2C, b.p, b.len, 2);
    f = h_finish(&h, 2);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RECORD_TRUNCATED), 0);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HS_MSG_TRUNCATED), 1);
    CU_ASSERT_EQUAL(f->server_hellos_seen, 0);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_INCOMPLETE);
    CU_ASSERT_EQUAL(f->outcome_after_msg, TD_HS_CLIENT_HELLO);
    b_free(&b);
    h_free(&h);
}

/* Real TLS 1.0 full handshake; then every prefix of it, finished: no crash, and only truncation anomalies
 * beyond those of the whole run. */
static void test_tls10_every_prefix(void)
{
    struct vec v;
    vec_load(&v, vec_tls10, sizeof(vec_tls10) / sizeof(vec_tls10[0]));
    struct harness h;
    h_init(&h);
    vec_feed(&h, &v, 0, v.num);
    const struct td_tls_facts *f = h_finish(&h, 11);
    CU_ASSERT_EQUAL(f->version, 0x0301);
    CU_ASSERT_EQUAL(f->cipher, 0x0039);
    const struct hs_ev want[] = {{0, 1, 4},  {1, 2, 6},  {1, 11, 6},          {1, 12, 6},         {1, 14, 6},
                                 {0, 16, 8}, {0, TD_HS_FINISHED, 8}, {1, 4, 9}, {1, TD_HS_FINISHED, 9}};
    check_hs_events(f, want, sizeof(want) / sizeof(want[0]));
    CU_ASSERT_EQUAL(f->handshake_done.frame, 9);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT(f->alerts[0].encrypted);
    CU_ASSERT_EQUAL(f->alerts[0].ev.frame, 11);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_ESTABLISHED);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 9);
    CU_ASSERT(!f->resumed);
    unsigned full_anomalies = f->num_anomalies;
    CU_ASSERT_EQUAL(full_anomalies, 0);
    print_anomalies(f);
    h_free(&h);

    size_t total = 0;
    for (size_t i = 0; i < v.num; i++) {
        total += v.len[i];
    }
    unsigned bad = 0;
    for (size_t cut = 0; cut <= total; cut++) {
        h_init(&h);
        size_t left = cut;
        uint64_t last = 0;
        for (size_t i = 0; i < v.num && left > 0; i++) {
            size_t n = v.len[i] < left ? v.len[i] : left;
            h_feed(&h, v.dir[i], v.p[i], n, v.frame[i]);
            left -= n;
            last = v.frame[i];
        }
        f = h_finish(&h, last);
        unsigned trunc = 0;
        for (uint32_t i = 0; i < f->num_anomalies; i++) {
            enum td_anomaly a = f->anomalies[i].code;
            if (a == TD_ANOM_RECORD_TRUNCATED || a == TD_ANOM_HS_MSG_TRUNCATED) {
                trunc++;
            } else if (bad++ == 0) {
                printf("\n  cut %zu: %s", cut, td_anomaly_name(a));
            }
        }
        /* Fewer than 5 bytes cannot be told from anything else; from a whole record header on, it is TLS. */
        bool tls = cut >= 5;
        bool ok = trunc <= 2 && f->is_tls == tls &&
                  f->outcome == (f->handshake_done.frame ? TD_OUTCOME_ESTABLISHED
                                                         : (tls ? TD_OUTCOME_INCOMPLETE : TD_OUTCOME_NOT_TLS));
        if (!ok && bad++ == 0) {
            printf("\n  cut %zu: outcome %d, %u truncation anomalies", cut, (int)f->outcome, trunc);
            print_anomalies(f);
        }
        h_free(&h);
    }
    CU_ASSERT_EQUAL(bad, 0);
    vec_free(&v);
}

/* mercury's false-positive trap: protected handshake bytes that read as a ServerHello + HelloRequest. */
static void test_midstream_trap(void)
{
    struct vec v;
    vec_load(&v, vec_trap, 1);
    struct harness h;
    h_init(&h);
    vec_feed(&h, &v, 0, 1);
    const struct td_tls_facts *f = h_finish(&h, 1);
    CU_ASSERT(f->is_tls);
    CU_ASSERT_EQUAL(f->hello_requests, 0);
    CU_ASSERT_EQUAL(f->server_hellos_seen, 0);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 0);
    CU_ASSERT_EQUAL(f->version, 0);
    const struct hs_ev want[] = {{TD_ROLE_SERVER, TD_HS_ENCRYPTED, 1}};
    check_hs_events(f, want, 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].records[2], 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].records[3], 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].bytes[3], 1472);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_INCOMPLETE);
    h_free(&h);
    vec_free(&v);
}

/* Outcomes decided by TCP closes and by alerts before completion. */
static void test_outcomes(void)
{
    struct harness h;
    struct bytes b = {0};
    b_record_hex(&b, 22, HS_CLIENT_HELLO);

    h_init(&h);
    td_tls_conn_tcp_flags(h.c, DIR_C2S, TD_TCP_SYN, 1, 1000);
    td_tls_conn_tcp_flags(h.c, DIR_S2C, TD_TCP_SYN | TD_TCP_ACK, 2, 2000);
    h_feed(&h, DIR_C2S, b.p, b.len, 4);
    td_tls_conn_tcp_flags(h.c, DIR_S2C, TD_TCP_RST, 5, 5000);
    const struct td_tls_facts *f = h_finish(&h, 5);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_RESET);
    CU_ASSERT_EQUAL(f->outcome_role, TD_ROLE_SERVER);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 5);
    CU_ASSERT_EQUAL(f->outcome_after_msg, TD_HS_CLIENT_HELLO);
    CU_ASSERT_EQUAL_FATAL(f->num_events, 4);
    CU_ASSERT_EQUAL(f->timeline[0].kind, TD_EV_TCP_SYN);
    CU_ASSERT_EQUAL(f->timeline[1].kind, TD_EV_TCP_SYNACK);
    CU_ASSERT_EQUAL(f->timeline[3].kind, TD_EV_TCP_RST);
    h_free(&h);

    h_init(&h);
    h_feed(&h, DIR_C2S, b.p, b.len, 4);
    td_tls_conn_tcp_flags(h.c, DIR_C2S, TD_TCP_FIN | TD_TCP_ACK, 5, 5000);
    f = h_finish(&h, 6);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_CLOSED);
    CU_ASSERT_EQUAL(f->outcome_role, TD_ROLE_CLIENT);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 5);
    h_free(&h);

    /* Warning unrecognized_name(112) ahead of the ServerHello, then a complete handshake (zeek's early-alert
     * capture has this shape): established, not failed. */
    h_init(&h);
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    struct bytes s = {0};
    b_record_hex(&s, 21, "0170");
    b_record_hex(&s, 22, HS_SERVER_HELLO HS_SERVER_HELLO_DONE);
    h_feed(&h, DIR_S2C, s.p, s.len, 2);
    b_reset(&s);
    b_record_hex(&s, 22, HS_CLIENT_KEY_EXCHANGE);
    b_record_hex(&s, 20, "01");
    b_record(&s, 22, 40);
    b_fill(&s, 0xe1, 40);
    h_feed(&h, DIR_C2S, s.p, s.len, 3);
    b_reset(&s);
    b_record_hex(&s, 20, "01");
    b_record(&s, 22, 40);
    b_fill(&s, 0xe2, 40);
    h_feed(&h, DIR_S2C, s.p, s.len, 4);
    f = h_finish(&h, 4);
    CU_ASSERT_EQUAL_FATAL(f->num_alerts, 1);
    CU_ASSERT_EQUAL(f->alerts[0].level, 1);
    CU_ASSERT_EQUAL(f->alerts[0].description, 112);
    CU_ASSERT_EQUAL(f->alerts[0].after_msg, TD_HS_CLIENT_HELLO);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_ESTABLISHED);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 4);
    h_free(&h);

    /* A warning alert and then nothing but the FIN: the alert ended the handshake. */
    h_init(&h);
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    b_reset(&s);
    b_record_hex(&s, 21, "0170");
    h_feed(&h, DIR_S2C, s.p, s.len, 2);
    td_tls_conn_tcp_flags(h.c, DIR_S2C, TD_TCP_FIN, 3, 3000);
    f = h_finish(&h, 3);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    CU_ASSERT_EQUAL(f->outcome_alert, 112);
    CU_ASSERT_EQUAL(f->outcome_ev.frame, 2);
    h_free(&h);
    b_free(&s);
    b_free(&b);
}

/* STARTTLS: plaintext first in both directions, the ClientHello record split across deliveries right after the
 * text; then a connection with no TLS at all. */
static void test_starttls_and_not_tls(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    const char *banner = "* OK IMAP4rev1 ready\r\n";
    h_feed(&h, DIR_S2C, (const uint8_t *)banner, strlen(banner), 3);
    const char *cmd = "a001 STARTTLS\r\n";
    b_put(&b, (const uint8_t *)cmd, strlen(cmd));
    h_feed(&h, DIR_C2S, b.p, b.len, 4);
    const char *ok = "a001 OK Begin TLS negotiation now\r\n";
    h_feed(&h, DIR_S2C, (const uint8_t *)ok, strlen(ok), 5);
    b_reset(&b);
    b_put(&b, (const uint8_t *)"\r\n", 2); /* stray line end before the record */
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, 5, 6);
    h_feed(&h, DIR_C2S, b.p + 5, b.len - 5, 7);
    b_reset(&b);
    b_record_hex(&b, 22, HS_SERVER_HELLO HS_SERVER_HELLO_DONE);
    h_feed(&h, DIR_S2C, b.p, b.len, 8);
    const struct td_tls_facts *f = h_finish(&h, 8);
    const struct hs_ev want[] = {{0, 1, 7}, {1, 2, 8}, {1, 14, 8}};
    check_hs_events(f, want, 3);
    CU_ASSERT_EQUAL(f->version, 0x0303);
    CU_ASSERT(!f->roles_swapped);
    CU_ASSERT_EQUAL(f->num_anomalies, 0);
    print_anomalies(f);
    h_free(&h);

    h_init(&h);
    b_reset(&b);
    for (int i = 0; i < 3000; i++) {
        b_put(&b, (const uint8_t *)"GET /index.html HTTP/1.1\r\n", 26);
    }
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    CU_ASSERT(td_tls_conn_is_tracking(h.c));
    h_feed(&h, DIR_S2C, b.p, b.len, 2);
    CU_ASSERT(!td_tls_conn_is_tracking(h.c));
    f = h_finish(&h, 2);
    CU_ASSERT(!f->is_tls);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_NOT_TLS);
    CU_ASSERT_EQUAL(f->num_events, 0);
    b_free(&b);
    h_free(&h);
}

/* The ClientHello comes from the TCP server side: facts are in TLS roles. */
static void test_roles_swapped(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    td_tls_conn_tcp_flags(h.c, DIR_C2S, TD_TCP_SYN, 1, 1000);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_S2C, b.p, b.len, 2);
    b_reset(&b);
    b_record_hex(&b, 22, HS_SERVER_HELLO HS_SERVER_HELLO_DONE);
    h_feed(&h, DIR_C2S, b.p, b.len, 3);
    const struct td_tls_facts *f = h_finish(&h, 3);
    CU_ASSERT(f->roles_swapped);
    CU_ASSERT_EQUAL(f->timeline[0].kind, TD_EV_TCP_SYN);
    CU_ASSERT_EQUAL(f->timeline[0].role, TD_ROLE_SERVER);
    const struct hs_ev want[] = {{TD_ROLE_CLIENT, 1, 2}, {TD_ROLE_SERVER, 2, 3}, {TD_ROLE_SERVER, 14, 3}};
    check_hs_events(f, want, 3);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[2], 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].bytes[2], 45);
    CU_ASSERT_EQUAL(f->version, 0x0303);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_UNEXPECTED_MESSAGE), 0);
    b_free(&b);
    h_free(&h);
}

/* SSLv2-compatible CLIENT-HELLO (RFC 5246 E.2) answered by a TLS 1.0 ServerHello. */
static void test_sslv2_compat_hello(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    /* 2-byte header 0x802e (46 bytes): msg_type 1, version 0x0301, cipher_spec_length 21, session_id_length 0,
     * challenge_length 16, 7 three-byte cipher specs, 16-byte challenge. */
    b_hex(&b, "802e" "01" "0301" "0015" "0000" "0010"
              "000039" "000038" "000035" "000033" "000032" "00002f" "0000ff"
              "00112233445566778899aabbccddeeff");
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    b_reset(&b);
    uint8_t sh[] = {22, 3, 1, 0, 46};
    b_put(&b, sh, sizeof(sh));
    b_hex(&b, "02000026" "0301" R32_22 "00" "0039" "00" HS_SERVER_HELLO_DONE);
    h_feed(&h, DIR_S2C, b.p, b.len, 2);
    const struct td_tls_facts *f = h_finish(&h, 2);
    CU_ASSERT_EQUAL_FATAL(f->num_client_hellos, 1);
    CU_ASSERT(f->client_hellos[0]->sslv2_format);
    CU_ASSERT_EQUAL(f->client_hellos[0]->legacy_version, 0x0301);
    const struct hs_ev want[] = {{0, TD_HS_SSLV2_CLIENT_HELLO, 1}, {1, 2, 2}, {1, 14, 2}};
    check_hs_events(f, want, 3);
    CU_ASSERT_EQUAL(f->version, 0x0301);
    CU_ASSERT_EQUAL(f->cipher, 0x0039);
    b_free(&b);
    h_free(&h);
}

/* Heartbeat (RFC 6520): payload_length beyond the record is the Heartbleed pattern; a well-formed one is not. */
static void test_heartbeat(void)
{
    struct harness h;
    struct bytes b = {0};
    h_init(&h);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(&h, DIR_C2S, b.p, b.len, 1);
    b_reset(&b);
    b_record_hex(&b, 22, HS_SERVER_HELLO HS_SERVER_HELLO_DONE);
    h_feed(&h, DIR_S2C, b.p, b.len, 2);
    b_reset(&b);
    b_record(&b, 24, 35); /* request, payload_length 16, 16 payload bytes, 16 padding bytes */
    b_hex(&b, "010010");
    b_fill(&b, 0x41, 32);
    h_feed(&h, DIR_C2S, b.p, b.len, 3);
    const struct td_tls_facts *f = td_tls_conn_facts(h.c);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HEARTBEAT_BAD_LENGTH), 0);
    b_reset(&b);
    b_record(&b, 24, 19); /* request, payload_length 0x4000 in a 19-byte record */
    b_hex(&b, "014000");
    b_fill(&b, 0x41, 16);
    h_feed(&h, DIR_C2S, b.p, b.len, 4);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_HEARTBEAT_BAD_LENGTH), 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[4], 2);
    b_free(&b);
    h_free(&h);
}

/* max_records_per_chunk: the rest of a delivery is given up like a gap and the stream resynchronises. */
static void test_records_per_chunk(void)
{
    struct td_limits l = td_limits_default();
    l.max_records_per_chunk = 4;
    struct harness h;
    h_init_limits(&h, &l);
    tls12_handshake(&h, false);
    struct bytes b = {0};
    for (int i = 0; i < 10; i++) {
        b_record(&b, 23, 8);
        b_fill(&b, 0x99, 8);
    }
    h_feed(&h, DIR_C2S, b.p, b.len, 5);
    h_feed(&h, DIR_C2S, b.p, b.len, 6);
    const struct td_tls_facts *f = td_tls_conn_facts(h.c);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_RECORDS_PER_CHUNK), 2);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_CLIENT].records[3], 8);
    b_free(&b);
    h_free(&h);
}

/* Caps: a small arena and a short timeline. Details stop being kept, counting goes on, each cap is recorded once. */
static void test_caps(void)
{
    struct vec v;
    vec_load(&v, vec_certreq, sizeof(vec_certreq) / sizeof(vec_certreq[0]));
    struct td_limits l = td_limits_default();
    l.max_conn_arena_bytes = 3000;
    struct harness h;
    h_init_limits(&h, &l);
    vec_feed(&h, &v, 0, v.num);
    const struct td_tls_facts *f = h_finish(&h, 9);
    CU_ASSERT(f->arena_full);
    CU_ASSERT(count_anomaly(f, TD_ANOM_ARENA_FULL) <= 1);
    CU_ASSERT_EQUAL(f->client_hellos_seen, 1);
    CU_ASSERT_EQUAL(f->counts[TD_ROLE_SERVER].records[2], 5);
    CU_ASSERT_EQUAL(f->alerts_seen, 1);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    CU_ASSERT_EQUAL(f->outcome_alert, 40);
    h_free(&h);

    l = td_limits_default();
    l.max_timeline = 4;
    h_init_limits(&h, &l);
    vec_feed(&h, &v, 0, v.num);
    f = h_finish(&h, 9);
    CU_ASSERT_EQUAL(f->num_events, 4);
    CU_ASSERT(f->events_seen > 4);
    CU_ASSERT_EQUAL(count_anomaly(f, TD_ANOM_TIMELINE_FULL), 1);
    CU_ASSERT_EQUAL(f->num_alerts, 1);
    CU_ASSERT_EQUAL(f->outcome, TD_OUTCOME_FAILED_ALERT);
    h_free(&h);
    vec_free(&v);
}

/* --- the plaintext phase: which protocol started TLS --- */

/* One plaintext step of a dialogue: direction and bytes (hex when is_hex). */
struct pt_step {
    int dir;
    bool is_hex;
    const char *data;
};

/* run_plaintext feeds the steps (frames 1..n), then a ClientHello (frame n+1) and a ServerHello +
 * ServerHelloDone (frame n+2), and returns the facts. */
static const struct td_tls_facts *run_plaintext(struct harness *h, const struct pt_step *steps, size_t num)
{
    struct bytes b = {0};
    h_init(h);
    for (size_t i = 0; i < num; i++) {
        b_reset(&b);
        if (steps[i].is_hex) {
            b_hex(&b, steps[i].data);
        } else {
            b_put(&b, (const uint8_t *)steps[i].data, strlen(steps[i].data));
        }
        h_feed(h, steps[i].dir, b.p, b.len, i + 1);
    }
    b_reset(&b);
    b_record_hex(&b, 22, HS_CLIENT_HELLO);
    h_feed(h, DIR_C2S, b.p, b.len, num + 1);
    b_reset(&b);
    b_record_hex(&b, 22, HS_SERVER_HELLO HS_SERVER_HELLO_DONE);
    h_feed(h, DIR_S2C, b.p, b.len, num + 2);
    b_free(&b);
    return h_finish(h, num + 2);
}

struct pt_case {
    const char *what;
    struct pt_step steps[4];
    size_t num;
    enum td_plaintext_proto proto;
    enum td_plaintext_source source;
    uint64_t c2s_len, s2c_len; /* bytes of the plaintext steps per direction, counted by hand */
};

static void test_plaintext_protocols(void)
{
    /* Dialogues as RFC 3207, RFC 9051, RFC 2595, RFC 4217, RFC 6120, RFC 4511 and the PostgreSQL, RDP, MySQL and
     * IRCv3 specifications write them; the byte counts are the string lengths. */
    static const struct pt_case cases[] = {
        {"smtp",
         {{DIR_S2C, false, "220 mx.test ESMTP\r\n"},       /* 19 */
          {DIR_C2S, false, "EHLO client.test\r\n"},        /* 18 */
          {DIR_S2C, false, "250-mx.test\r\n250 STARTTLS\r\n"}, /* 27 */
          {DIR_C2S, false, "STARTTLS\r\n"}},               /* 10 */
         4, TD_PLAINTEXT_SMTP, TD_PLAINTEXT_FROM_REQUEST, 28, 46},
        {"imap", {{DIR_S2C, false, "* OK ready\r\n"}, {DIR_C2S, false, "a1 STARTTLS\r\n"}}, 2, TD_PLAINTEXT_IMAP,
         TD_PLAINTEXT_FROM_REQUEST, 13, 12},
        {"pop3", {{DIR_S2C, false, "+OK POP3\r\n"}, {DIR_C2S, false, "STLS\r\n"}}, 2, TD_PLAINTEXT_POP3,
         TD_PLAINTEXT_FROM_REQUEST, 6, 10},
        /* the 220 banner reads as SMTP until the request says FTP */
        {"ftp", {{DIR_S2C, false, "220 FTP ready\r\n"}, {DIR_C2S, false, "AUTH TLS\r\n"}}, 2, TD_PLAINTEXT_FTP,
         TD_PLAINTEXT_FROM_REQUEST, 10, 15},
        {"smtp banner only", {{DIR_S2C, false, "220 FTP ready\r\n"}}, 1, TD_PLAINTEXT_SMTP,
         TD_PLAINTEXT_FROM_GREETING, 0, 15},
        {"xmpp",
         {{DIR_C2S, false, "<?xml version='1.0'?><stream:stream to='x' version='1.0'>"},       /* 57 */
          {DIR_C2S, false, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"}},           /* 51 */
         2, TD_PLAINTEXT_XMPP, TD_PLAINTEXT_FROM_REQUEST, 108, 0},
        /* ExtendedRequest: 30 1d | 02 01 01 | 77 18 | 80 16 "1.3.6.1.4.1.1466.20037" (31 bytes) */
        {"ldap", {{DIR_C2S, true, "301d02010177188016312e332e362e312e342e312e313436362e3230303337"}}, 1,
         TD_PLAINTEXT_LDAP, TD_PLAINTEXT_FROM_REQUEST, 31, 0},
        /* the same with another OID (the password modify operation 1.3.6.1.4.1.4203.1.11.1, 23 bytes) */
        {"ldap other oid", {{DIR_C2S, true, "301d02010177188016312e332e362e312e342e312e343230332e312e31312e31"}}, 1,
         TD_PLAINTEXT_UNKNOWN, TD_PLAINTEXT_FROM_NONE, 32, 0},
        /* SSLRequest: Int32 8, Int32 80877103 (0x04d2162f); the server answers 'S' */
        {"postgres", {{DIR_C2S, true, "0000000804d2162f"}, {DIR_S2C, false, "S"}}, 2, TD_PLAINTEXT_POSTGRES,
         TD_PLAINTEXT_FROM_REQUEST, 8, 1},
        /* TPKT 03 00 00 13 | X.224 CR: LI 0e, E0, dst 0000, src 0000, class 00 | RDP_NEG_REQ 01 00 0800 01000000;
         * CC: TPKT 03 00 00 13 | 0e d0 0000 1234 00 | RDP_NEG_RSP 02 1f 0800 01000000 */
        {"rdp", {{DIR_C2S, true, "030000130ee000000000000100080001000000"},
                 {DIR_S2C, true, "030000130ed000001234000200080001000000"}}, 2, TD_PLAINTEXT_RDP,
         TD_PLAINTEXT_FROM_REQUEST, 19, 19},
        /* HandshakeV10 header: length 0x00000a (10), seq 0, protocol 10 + 9 bytes; SSLRequest: length 32, seq 1,
         * capabilities 0x00000800 (CLIENT_SSL) + 28 bytes */
        {"mysql", {{DIR_S2C, true, "0a0000000a352e372e3000000000"},
                   {DIR_C2S, true, "200000010008000000000000000000000000000000000000000000000000000000000000"}},
         2, TD_PLAINTEXT_MYSQL, TD_PLAINTEXT_FROM_REQUEST, 36, 14},
        /* IRC: the client asks first, the server's 670 (RPL_STARTTLS) answer makes it IRC rather than SMTP */
        {"irc", {{DIR_C2S, false, "STARTTLS\r\n"}, {DIR_S2C, false, ":irc.test 670 :STARTTLS successful\r\n"}}, 2,
         TD_PLAINTEXT_IRC, TD_PLAINTEXT_FROM_REQUEST, 10, 36},
        {"unknown", {{DIR_C2S, false, "HELLO THERE\r\n"}}, 1, TD_PLAINTEXT_UNKNOWN, TD_PLAINTEXT_FROM_NONE, 13, 0},
        {"none", {{0}}, 0, TD_PLAINTEXT_NONE, TD_PLAINTEXT_FROM_NONE, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pt_case *k = &cases[i];
        struct harness h;
        const struct td_tls_facts *f = run_plaintext(&h, k->steps, k->num);
        const struct td_plaintext_start *ps = &f->plaintext_start;
        if (ps->protocol != k->proto || ps->source != k->source || ps->skipped_len[0] != k->c2s_len ||
            ps->skipped_len[1] != k->s2c_len) {
            printf("\n%s: protocol %u source %u skipped %llu/%llu tls frame %llu\n", k->what, ps->protocol,
                   ps->source, (unsigned long long)ps->skipped_len[0], (unsigned long long)ps->skipped_len[1],
                   (unsigned long long)ps->tls_ev.frame);
        }
        CU_ASSERT_EQUAL(ps->protocol, k->proto);
        CU_ASSERT_EQUAL(ps->source, k->source);
        CU_ASSERT_EQUAL(ps->skipped_len[0], k->c2s_len);
        CU_ASSERT_EQUAL(ps->skipped_len[1], k->s2c_len);
        /* the ClientHello is frame num + 1 and TLS began there (none: no plaintext, no frame) */
        CU_ASSERT_EQUAL(ps->tls_ev.frame, k->proto == TD_PLAINTEXT_NONE ? 0 : k->num + 1);
        CU_ASSERT_EQUAL(f->num_client_hellos, 1);
        CU_ASSERT_EQUAL(f->num_server_hellos, 1);
        CU_ASSERT_EQUAL(f->num_anomalies, 0);
        h_free(&h);
    }
}

static void test_plaintext_resolve(void)
{
    struct td_plaintext_start ps = {.protocol = TD_PLAINTEXT_UNKNOWN, .tls_ev = {.frame = 3}};
    struct td_plaintext_start r = td_plaintext_start_resolve(&ps, "MySQL");
    CU_ASSERT_EQUAL(r.protocol, TD_PLAINTEXT_MYSQL);
    CU_ASSERT_EQUAL(r.source, TD_PLAINTEXT_FROM_NDPI);
    r = td_plaintext_start_resolve(&ps, "HTTP"); /* not a protocol that starts TLS: stays unknown */
    CU_ASSERT_EQUAL(r.protocol, TD_PLAINTEXT_UNKNOWN);
    CU_ASSERT_EQUAL(r.source, TD_PLAINTEXT_FROM_NONE);
    /* a 220 banner alone: nDPI's FTP_CONTROL settles SMTP-or-FTP */
    ps.protocol = TD_PLAINTEXT_SMTP;
    ps.source = TD_PLAINTEXT_FROM_GREETING;
    r = td_plaintext_start_resolve(&ps, "FTP_CONTROL");
    CU_ASSERT_EQUAL(r.protocol, TD_PLAINTEXT_FTP);
    CU_ASSERT_EQUAL(r.source, TD_PLAINTEXT_FROM_NDPI);
    r = td_plaintext_start_resolve(&ps, "SMTP"); /* agreement: the greeting stays the evidence */
    CU_ASSERT_EQUAL(r.protocol, TD_PLAINTEXT_SMTP);
    CU_ASSERT_EQUAL(r.source, TD_PLAINTEXT_FROM_GREETING);
    /* the request that started TLS outranks nDPI (which calls LDAP StartTLS "MQTT" in two of our captures) */
    ps.protocol = TD_PLAINTEXT_LDAP;
    ps.source = TD_PLAINTEXT_FROM_REQUEST;
    r = td_plaintext_start_resolve(&ps, "MQTT");
    CU_ASSERT_EQUAL(r.protocol, TD_PLAINTEXT_LDAP);
    r = td_plaintext_start_resolve(&ps, "IRC");
    CU_ASSERT_EQUAL(r.protocol, TD_PLAINTEXT_LDAP);
    /* no plaintext phase: nothing to resolve */
    struct td_plaintext_start none = {0};
    r = td_plaintext_start_resolve(&none, "SMTP");
    CU_ASSERT_EQUAL(r.protocol, TD_PLAINTEXT_NONE);
    CU_ASSERT_STRING_EQUAL(td_plaintext_proto_name(TD_PLAINTEXT_POSTGRES), "postgres");
    CU_ASSERT_PTR_NULL(td_plaintext_proto_name(TD_PLAINTEXT_NONE));
    CU_ASSERT_STRING_EQUAL(td_plaintext_source_name(TD_PLAINTEXT_FROM_NDPI), "ndpi");
}

static CU_TestInfo tests[] = {
    {"certreq_capture", test_certreq_capture},
    {"split_every_boundary", test_split_every_boundary},
    {"header_record_alone", test_header_record_alone},
    {"message_spanning_records", test_message_spanning_records},
    {"encrypted_not_buffered", test_encrypted_not_buffered},
    {"alerts", test_alerts},
    {"tls13_hrr", test_tls13_hrr},
    {"tls13_refused_after_client_finished", test_tls13_refused_after_client_finished},
    {"tls12_renegotiation", test_tls12_renegotiation},
    {"gap_resync", test_gap_resync},
    {"truncated_at_end", test_truncated_at_end},
    {"tls10_every_prefix", test_tls10_every_prefix},
    {"midstream_trap", test_midstream_trap},
    {"outcomes", test_outcomes},
    {"starttls_and_not_tls", test_starttls_and_not_tls},
    {"roles_swapped", test_roles_swapped},
    {"sslv2_compat_hello", test_sslv2_compat_hello},
    {"heartbeat", test_heartbeat},
    {"records_per_chunk", test_records_per_chunk},
    {"caps", test_caps},
    {"plaintext_protocols", test_plaintext_protocols},
    {"plaintext_resolve", test_plaintext_resolve},
    CU_TEST_INFO_NULL,
};

TD_TEST_MAIN("dissect.record", tests)
