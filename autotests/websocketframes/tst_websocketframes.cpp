// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// The server's own RFC 6455 layer, without sockets: the handshake's accept key, the UTF-8
// check of text messages and close reasons, and the frames the server writes. The reader
// of what clients send is tested in tst_framereader.cpp.

#include "websocketframestest.h"

using namespace QStateSyncWebSocket;
using namespace FramesTest;

void tst_WebSocketFrames::acceptKeyOfTheRfcExample()
{
    // RFC 6455, section 1.3.
    QCOMPARE(acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), QByteArray("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
}

void tst_WebSocketFrames::clientKeys_data()
{
    QTest::addColumn<QByteArray>("key");
    QTest::addColumn<bool>("valid");
    QTest::addRow("rfc example") << QByteArray("dGhlIHNhbXBsZSBub25jZQ==") << true;
    QTest::addRow("16 zero bytes") << QByteArray("AAAAAAAAAAAAAAAAAAAAAA==") << true;
    QTest::addRow("empty") << QByteArray() << false;
    QTest::addRow("23 characters") << QByteArray("dGhlIHNhbXBsZSBub25jZQ=") << false;
    QTest::addRow("25 characters") << QByteArray("dGhlIHNhbXBsZSBub25jZQ===") << false;
    QTest::addRow("18 bytes, no padding") << QByteArray("AAAAAAAAAAAAAAAAAAAAAAAA") << false;
    QTest::addRow("not base64") << QByteArray("dGhlIHNhbXBsZSBub25jZ!==") << false;
    QTest::addRow("space inside") << QByteArray("dGhlIHNhbXBsZSBub25j ==") << false;
    QTest::addRow("padding inside") << QByteArray("dGhlIHNh=XBsZSBub25jZQ==") << false;
}

void tst_WebSocketFrames::clientKeys()
{
    QFETCH(QByteArray, key);
    QFETCH(bool, valid);
    QCOMPARE(isValidClientKey(key), valid);
}

void tst_WebSocketFrames::utf8_data()
{
    QTest::addColumn<QByteArray>("data");
    QTest::addColumn<bool>("valid");
    QTest::addRow("empty") << QByteArray() << true;
    QTest::addRow("ascii") << QByteArray("{\"type\":2}") << true;
    QTest::addRow("nul and del") << bytes({0x00, 0x7f}) << true;
    QTest::addRow("2 bytes") << bytes({0xc3, 0xa9}) << true;
    QTest::addRow("3 bytes") << bytes({0xe2, 0x82, 0xac}) << true;
    QTest::addRow("4 bytes") << bytes({0xf0, 0x9f, 0x98, 0x80}) << true;
    QTest::addRow("U+10FFFF, the largest") << bytes({0xf4, 0x8f, 0xbf, 0xbf}) << true;
    QTest::addRow("U+110000") << bytes({0xf4, 0x90, 0x80, 0x80}) << false;
    QTest::addRow("lead f5") << bytes({0xf5, 0x80, 0x80, 0x80}) << false;
    QTest::addRow("lead f7") << bytes({0xf7, 0xbf, 0xbf, 0xbf}) << false;
    QTest::addRow("5 bytes") << bytes({0xf8, 0x88, 0x80, 0x80, 0x80}) << false;
    QTest::addRow("6 bytes") << bytes({0xfc, 0x84, 0x80, 0x80, 0x80, 0x80}) << false;
    QTest::addRow("fe") << bytes({0xfe}) << false;
    QTest::addRow("ff") << bytes({0xff}) << false;
    QTest::addRow("overlong nul") << bytes({0xc0, 0x80}) << false;
    QTest::addRow("overlong c1") << bytes({0xc1, 0xbf}) << false;
    QTest::addRow("smallest 2 bytes") << bytes({0xc2, 0x80}) << true;
    QTest::addRow("overlong 3 bytes") << bytes({0xe0, 0x9f, 0xbf}) << false;
    QTest::addRow("smallest 3 bytes") << bytes({0xe0, 0xa0, 0x80}) << true;
    QTest::addRow("overlong 4 bytes") << bytes({0xf0, 0x8f, 0xbf, 0xbf}) << false;
    QTest::addRow("smallest 4 bytes") << bytes({0xf0, 0x90, 0x80, 0x80}) << true;
    QTest::addRow("U+D7FF") << bytes({0xed, 0x9f, 0xbf}) << true;
    QTest::addRow("U+D800") << bytes({0xed, 0xa0, 0x80}) << false;
    QTest::addRow("U+DFFF") << bytes({0xed, 0xbf, 0xbf}) << false;
    QTest::addRow("U+E000") << bytes({0xee, 0x80, 0x80}) << true;
    QTest::addRow("surrogate pair as CESU-8")
            << bytes({0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}) << false;
    QTest::addRow("lone continuation") << bytes({0x80}) << false;
    QTest::addRow("continuation after ascii") << QByteArray("abc") + bytes({0xbf}) << false;
    QTest::addRow("lead then ascii") << bytes({0xc3, 0x41}) << false;
    QTest::addRow("3 bytes, bad third") << bytes({0xe2, 0x82, 0x41}) << false;
    QTest::addRow("truncated 2 at end") << QByteArray("abc") + bytes({0xc3}) << false;
    QTest::addRow("truncated 3 at end") << QByteArray("abc") + bytes({0xe2, 0x82}) << false;
    QTest::addRow("truncated 4 at end") << QByteArray("abc") + bytes({0xf0, 0x9f, 0x98}) << false;
    QTest::addRow("truncated 4, one byte") << bytes({0xf0}) << false;
    // The fast path reads eight bytes at a time: characters and faults on each side of a
    // word's end, and in a last part shorter than a word.
    QTest::addRow("7 ascii, 2 bytes across the word")
            << QByteArray(7, 'a') + bytes({0xc3, 0xa9}) << true;
    QTest::addRow("6 ascii, 4 bytes across the word")
            << QByteArray(6, 'a') + bytes({0xf0, 0x9f, 0x98, 0x80}) << true;
    QTest::addRow("8 ascii, then 2 bytes") << QByteArray(8, 'a') + bytes({0xc3, 0xa9}) << true;
    QTest::addRow("8 ascii, then invalid") << QByteArray(8, 'a') + bytes({0x80}) << false;
    QTest::addRow("8 ascii, then truncated") << QByteArray(8, 'a') + bytes({0xe2, 0x82}) << false;
    QTest::addRow("invalid last of 16") << QByteArray(15, 'a') + bytes({0xff}) << false;
    QTest::addRow("invalid first of the second word")
            << QByteArray(8, 'a') + bytes({0xc0}) + QByteArray(7, 'a') << false;
    QTest::addRow("16 ascii") << QByteArray(16, 'a') << true;
    QTest::addRow("2 bytes ending a word, then ascii")
            << QByteArray(6, 'a') + bytes({0xc3, 0xa9}) + QByteArray(8, 'b') << true;
    QTest::addRow("surrogate after 24 ascii")
            << QByteArray(24, 'a') + bytes({0xed, 0xa0, 0x80}) << false;
    QTest::addRow("truncated 4 bytes after 13 ascii")
            << QByteArray(13, 'a') + bytes({0xf4, 0x8f, 0xbf}) << false;
}

void tst_WebSocketFrames::utf8()
{
    QFETCH(QByteArray, data);
    QFETCH(bool, valid);
    QCOMPARE(referenceUtf8(data), valid); // the row is right
    QCOMPARE(isValidUtf8(data), valid);
    // Only the view is read: continuation bytes after its end do not finish a character
    // cut at the end.
    const QByteArray padded = data + "\xa9\x80\xbf";
    QCOMPARE(isValidUtf8(QByteArrayView(padded.constData(), data.size())), valid);
}

// Every sequence of up to three bytes, and every four-byte one that starts with a lead of
// four, each at every offset from a word boundary.
void tst_WebSocketFrames::utf8AgreesWithUnicodesTable()
{
    int checked = 0;
    const auto check = [&checked](const QByteArray &sequence) {
        for (int offset = 0; offset < 8; offset += 3) {
            const QByteArray data = QByteArray(offset, 'x') + sequence;
            if (isValidUtf8(data) != referenceUtf8(data)) {
                QTest::qFail(qPrintable("disagrees on " + data.toHex(' ')), __FILE__, __LINE__);
                return false;
            }
            ++checked;
        }
        return true;
    };
    for (int a = 0; a < 256; ++a) {
        if (!check(bytes({a})))
            return;
        for (int b = 0; b < 256; ++b) {
            if (!check(bytes({a, b})))
                return;
        }
    }
    // Three bytes: a lead of three (or two, or four) with every second byte, and the third
    // byte from the boundaries of the continuation range.
    const QList<int> edges{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xff};
    for (int a = 0xc0; a < 0x100; ++a) {
        for (int b = 0; b < 256; ++b) {
            for (const int c : edges) {
                if (!check(bytes({a, b, c})))
                    return;
                if (a >= 0xf0) {
                    for (const int d : edges) {
                        if (!check(bytes({a, b, c, d})))
                            return;
                    }
                }
            }
        }
    }
    QVERIFY(checked > 1000000);
}

void tst_WebSocketFrames::controlFrames()
{
    QCOMPARE(controlFrame(OpPing), bytes({0x89, 0x00}));
    QCOMPARE(controlFrame(OpPong, "abc"), bytes({0x8a, 0x03}) + "abc");
    QCOMPARE(controlFrame(OpPong, QByteArray(125, 'p')), bytes({0x8a, 125}) + QByteArray(125, 'p'));
    QCOMPARE(closeFrame(1000), bytes({0x88, 0x02, 0x03, 0xe8}));
    QCOMPARE(closeFrame(4321, "bye"), bytes({0x88, 0x05, 0x10, 0xe1}) + "bye");
}

void tst_WebSocketFrames::closeFrameCutsTheReasonOnACharacter_data()
{
    QTest::addColumn<QByteArray>("reason");
    QTest::addColumn<int>("kept");
    QTest::addRow("short") << QByteArray("going away") << 10;
    QTest::addRow("123 ascii, all of it") << QByteArray(123, 'a') << 123;
    QTest::addRow("200 ascii") << QByteArray(200, 'a') << 123;
    QTest::addRow("2 bytes across the end")
            << QByteArray(122, 'a') + bytes({0xc3, 0xa9}) + "tail" << 122;
    QTest::addRow("2 bytes ending at the end")
            << QByteArray(121, 'a') + bytes({0xc3, 0xa9}) + "tail" << 123;
    QTest::addRow("3 bytes across the end")
            << QByteArray(121, 'a') + bytes({0xe2, 0x82, 0xac}) + "tail" << 121;
    QTest::addRow("4 bytes across the end")
            << QByteArray(120, 'a') + bytes({0xf0, 0x9f, 0x98, 0x80}) + "tail" << 120;
    QTest::addRow("4 bytes, one byte past the end")
            << QByteArray(122, 'a') + bytes({0xf0, 0x9f, 0x98, 0x80}) << 122;
    QByteArray euros;
    for (int i = 0; i < 50; ++i)
        euros += bytes({0xe2, 0x82, 0xac});
    QTest::addRow("only 3-byte characters") << euros << 123;
}

void tst_WebSocketFrames::closeFrameCutsTheReasonOnACharacter()
{
    QFETCH(QByteArray, reason);
    QFETCH(int, kept);
    const QByteArray frame = closeFrame(1008, reason);
    QCOMPARE(frame.size(), 2 + 2 + kept);
    QCOMPARE(uchar(frame.at(0)), uchar(0x88));
    QCOMPARE(int(uchar(frame.at(1))), 2 + kept);
    QCOMPARE(frame.mid(2, 2), bytes({0x03, 0xf0}));
    const QByteArray sent = frame.mid(4);
    QCOMPARE(sent, reason.left(kept));
    QVERIFY(isValidUtf8(sent));
}
QTEST_APPLESS_MAIN(tst_WebSocketFrames)
