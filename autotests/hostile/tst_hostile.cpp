// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// Hostile input: every field of every message with every wrong type, invalid UTF-8,
// broken frames (absurd lengths, reserved bits and opcodes, unmasked, oversized control
// frames, fragments past the limit), handshakes cut off halfway, clients that vanish in
// the middle of a frame. Each gets a defined answer, the server keeps serving the others,
// and its memory comes back to where it was.

#include "rawframes.h"
#include "testsupport.h"

#include <QStateSyncClient>
#include <QStateSyncer>

#include <QtCore/qloggingcategory.h>
#include <QtTest/qtest.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

using namespace TestSupport;

namespace {
// Codes the close frames carry (RFC 6455, 7.4.1).
enum CloseCode { ProtocolError = 1002, WrongDatatype = 1007, TooMuchData = 1009 };

bool knownCode(const QJsonObject &message)
{
    const QString code = message.value("data").toObject().value("code").toString();
    return !code.isEmpty() && QStateSync::errorFromCode(code) != QStateSync::Error::UnknownError;
}

bool sanitized()
{
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

qint64 heapInUse()
{
#if defined(__GLIBC__)
    return qint64(mallinfo2().uordblks);
#else
    return -1;
#endif
}
} // namespace

class tst_Hostile : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void init();
    void cleanup();

    void everyFieldWithEveryWrongType_data();
    void everyFieldWithEveryWrongType();
    void numbersAndNestingAtTheEdges_data();
    void numbersAndNestingAtTheEdges();
    void invalidUtf8ClosesWith1007();
    void brokenFramesAreProtocolErrors_data();
    void brokenFramesAreProtocolErrors();
    void absurdLengthsAreRefusedBeforeAnyRead_data();
    void absurdLengthsAreRefusedBeforeAnyRead();
    void unmaskedFrameIsRefused();
    void fragmentedMessageIsReassembled();
    void fragmentsAddingUpPastTheLimitAreRefused();
    void clientVanishingMidFrameIsCleanedUp();
    void handshakeCutOffHalfway();
    void floodOfUpdatesIsRateLimited();
    void pingFloodWithoutReadingIsDropped();
    void memoryComesBackAfterHostileRounds();

private:
    // Checks that the server still serves a well-behaved client, and that the state has
    // the value only well-behaved clients gave it.
    void bystanderIsServed();
    void hostileRound();

    std::unique_ptr<QStateSyncer> m_server;
    std::unique_ptr<QStateSyncClient> m_bystander;
    int m_bystanderUpdates = 0;
};

void tst_Hostile::initTestCase()
{
    // Every refusal is logged at info level: thousands of lines here, checked elsewhere.
    QLoggingCategory::setFilterRules(QStringLiteral("qstatesync.*.info=false"));
}

void tst_Hostile::init()
{
    m_server = startServer();
    m_server->setMaxMessageSize(64 * 1024);
    m_server->setHandshakeTimeout(300);
    createState(*m_server, "s", QJsonObject{{"list", QJsonArray{}}});
    m_bystander = joinedClient(*m_server, "bystander", "s");
    m_bystanderUpdates = 0;
}

void tst_Hostile::cleanup()
{
    m_bystander.reset();
    m_server.reset();
}

void tst_Hostile::bystanderIsServed()
{
    QSignalSpy acknowledged(m_bystander.get(), &QStateSyncClient::updateAcknowledged);
    ++m_bystanderUpdates;
    m_bystander->updateState(QJsonObject{{"bystander", m_bystanderUpdates}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(m_server->valueOfState("s")->value("bystander").toInt(), m_bystanderUpdates);
    QCOMPARE(m_bystander->jsonValue(), *m_server->valueOfState("s"));
}

void tst_Hostile::everyFieldWithEveryWrongType_data()
{
    QTest::addColumn<QByteArray>("message");
    const QList<QPair<QByteArray, QByteArray>> values{
            {"null", "null"},         {"true", "true"},       {"zero", "0"},
            {"negative", "-1"},       {"fraction", "1.5"},    {"big", "1e308"},
            {"empty string", "\"\""}, {"string", "\"x\""},    {"empty array", "[]"},
            {"array", "[1,{}]"},      {"empty object", "{}"}, {"object", "{\"a\":{\"b\":[]}}"},
    };
    // The fields of each message, with a well-formed value each.
    struct Shape
    {
        int type;
        QList<QPair<QByteArray, QByteArray>> fields;
    };
    const QList<Shape> shapes{
            {2, {{"stateIdentifier", "\"s\""}}},
            {3, {{"updates", "{\"k\":1}"}, {"requestId", "7"}}},
            {20, {{"appends", "{\"list\":[1]}"}, {"requestId", "\"r\""}}},
            {21, {}},
            {26, {{"presence", "{\"typing\":true}"}}},
            {1, {}},
            {99, {}},
    };
    for (const Shape &shape : shapes) {
        const auto dataWith = [&](const QByteArray &field, const QByteArray &value) {
            QByteArray data = "{";
            bool first = true;
            for (const auto &[name, good] : shape.fields) {
                data += (first ? "" : ",") + QByteArray("\"") + name
                        + "\":" + (name == field ? value : good);
                first = false;
            }
            return data + "}";
        };
        for (const auto &[valueName, value] : values) {
            // The envelope's own fields.
            QTest::addRow("%d: type=%s", shape.type, valueName.constData())
                    << "{\"type\":" + value + ",\"data\":" + dataWith({}, {}) + "}";
            QTest::addRow("%d: data=%s", shape.type, valueName.constData())
                    << "{\"type\":" + QByteArray::number(shape.type) + ",\"data\":" + value + "}";
            for (const auto &field : shape.fields) {
                QTest::addRow("%d: %s=%s", shape.type, field.first.constData(),
                              valueName.constData())
                        << "{\"type\":" + QByteArray::number(shape.type)
                                + ",\"data\":" + dataWith(field.first, value) + "}";
            }
        }
    }
}

// Each message gets exactly the answers the protocol defines for it: a well-formed one
// its effect, a malformed one an error with a known code on the right type. Afterwards
// the same connection still joins and updates.
void tst_Hostile::everyFieldWithEveryWrongType()
{
    QFETCH(QByteArray, message);
    RawClient peer;
    QVERIFY(peer.open(urlOf(*m_server), "hostile"));
    QCOMPARE(peer.joinAndWait("s").value("stateIdentifier").toString(), QStringLiteral("s"));
    peer.received.clear();
    peer.sendText(QString::fromUtf8(message));
    QVERIFY(peer.waitUntil([&] { return !peer.received.isEmpty(); }));
    const QJsonObject answer = peer.received.first();
    const int type = answer.value("type").toInt();
    static const QList<int> errorTypes{8, 9, 10, 25};
    static const QList<int> effectTypes{3, 7, 22, 23, 27};
    if (errorTypes.contains(type))
        QVERIFY2(knownCode(answer), qPrintable(compact(answer)));
    else
        QVERIFY2(effectTypes.contains(type), qPrintable(compact(answer)));

    peer.received.clear();
    QCOMPARE(peer.joinAndWait("s").value("stateIdentifier").toString(), QStringLiteral("s"));
    peer.update(QJsonObject{{"after", true}}, 4242);
    const QJsonObject echo = peer.takeData(3);
    QCOMPARE(echo.value("requestId").toInt(), 4242);
    bystanderIsServed();
}

void tst_Hostile::numbersAndNestingAtTheEdges_data()
{
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<int>("answerType");
    QTest::addColumn<QString>("code");
    QTest::addRow("number past double")
            << QByteArray(R"({"type":3,"data":{"updates":{"n":1e400}}})") << 25 << "invalid_json";
    QTest::addRow("negative past double")
            << QByteArray(R"({"type":3,"data":{"updates":{"n":-1e400}}})") << 25 << "invalid_json";
    QTest::addRow("type past int")
            << QByteArray(R"({"type":2147483648,"data":{}})") << 25 << "invalid_message";
    QTest::addRow("type below int")
            << QByteArray(R"({"type":-2147483649,"data":{}})") << 25 << "invalid_message";
    QTest::addRow("type with fraction")
            << QByteArray(R"({"type":3.5,"data":{}})") << 25 << "invalid_message";
    QTest::addRow("long request id") << QByteArray(R"({"type":3,"data":{"updates":{},"requestId":")"
                                                   + QByteArray(300, 'r') + "\"}}")
                                     << 9 << "invalid_message";
    QTest::addRow("long state identifier") << QByteArray(R"({"type":2,"data":{"stateIdentifier":")"
                                                         + QByteArray(2000, 's') + "\"}}")
                                           << 8 << "invalid_message";
    QTest::addRow("nesting 100") << QByteArray(
            R"({"type":3,"data":{"updates":{"n":)" + QByteArray(100, '[') + QByteArray(100, ']')
            + "}}}") << 9 << "nesting_too_deep";
    QTest::addRow("nesting 20000")
            << QByteArray(R"({"type":3,"data":{"updates":{"n":)" + QByteArray(20000, '[')
                          + QByteArray(20000, ']') + "}}}")
            << 25 << "nesting_too_deep";
    QTest::addRow("unclosed nesting")
            << QByteArray(R"({"type":3,"data":{"updates":{"n":)" + QByteArray(5000, '{')) << 25
            << "nesting_too_deep";
    QTest::addRow("nul in text") << QByteArray("{\"type\":2,\0\"data\":{}}", 22) << 25
                                 << "invalid_json";
}

void tst_Hostile::numbersAndNestingAtTheEdges()
{
    QFETCH(QByteArray, message);
    QFETCH(int, answerType);
    QFETCH(QString, code);
    RawFramePeer peer;
    QVERIFY(peer.upgrade(m_server->serverPort()));
    peer.send(RawFramePeer::text(message));
    const QJsonObject answer = peer.nextMessage();
    QCOMPARE(answer.value("type").toInt(), answerType);
    QCOMPARE(answer.value("data").toObject().value("code").toString(), code);
    // Nothing of it was stored, and the connection still works.
    peer.send(RawFramePeer::text(R"({"type":2,"data":{"stateIdentifier":"s"}})"));
    QCOMPARE(peer.nextMessage().value("type").toInt(), 7);
    QVERIFY(!m_server->valueOfState("s")->contains("n"));
    bystanderIsServed();
}

void tst_Hostile::invalidUtf8ClosesWith1007()
{
    RawFramePeer peer;
    QVERIFY(peer.upgrade(m_server->serverPort()));
    peer.send(RawFramePeer::text("{\"type\":2,\"data\":{\"stateIdentifier\":\"\xc3\x28\"}}"));
    QCOMPARE(peer.closeCode(), int(WrongDatatype));
    QVERIFY(peer.waitForDisconnect());
    bystanderIsServed();
}

void tst_Hostile::brokenFramesAreProtocolErrors_data()
{
    QTest::addColumn<QByteArray>("bytes");
    const QByteArray join = R"({"type":2,"data":{"stateIdentifier":"s"}})";
    QTest::addRow("reserved bit 1") << RawFramePeer::frame(0xc1, join);
    QTest::addRow("reserved bit 3") << RawFramePeer::frame(0x91, join);
    QTest::addRow("reserved opcode 3") << RawFramePeer::frame(0x83, join);
    QTest::addRow("reserved control opcode 11") << RawFramePeer::frame(0x8b, QByteArray());
    QTest::addRow("ping longer than 125 bytes") << RawFramePeer::frame(0x89, QByteArray(126, 'p'));
    QTest::addRow("fragmented ping") << RawFramePeer::frame(0x09, QByteArray("p"));
    QTest::addRow("continuation without start") << RawFramePeer::frame(0x80, join);
    QTest::addRow("new message inside a fragmented one")
            << RawFramePeer::frame(0x01, "{\"type\":") + RawFramePeer::frame(0x81, join);
}

void tst_Hostile::brokenFramesAreProtocolErrors()
{
    QFETCH(QByteArray, bytes);
    RawFramePeer peer;
    QVERIFY(peer.upgrade(m_server->serverPort()));
    peer.send(bytes);
    QCOMPARE(peer.closeCode(), int(ProtocolError));
    QVERIFY(peer.waitForDisconnect());
    bystanderIsServed();
}

void tst_Hostile::absurdLengthsAreRefusedBeforeAnyRead_data()
{
    QTest::addColumn<quint64>("announced");
    QTest::addColumn<int>("closeCode");
    QTest::addRow("just past the limit") << quint64(64 * 1024 + 1) << int(TooMuchData);
    QTest::addRow("4 GiB") << (quint64(1) << 32) << int(TooMuchData);
    QTest::addRow("2^62") << (quint64(1) << 62) << int(TooMuchData);
    QTest::addRow("top bit set") << (quint64(1) << 63) << int(ProtocolError);
    QTest::addRow("all bits set") << ~quint64(0) << int(ProtocolError);
}

// A frame that announces more than the limit is refused from its header alone: the
// server does not wait for (or buffer) the bytes it announces.
void tst_Hostile::absurdLengthsAreRefusedBeforeAnyRead()
{
    QFETCH(quint64, announced);
    QFETCH(int, closeCode);
    RawFramePeer peer;
    QVERIFY(peer.upgrade(m_server->serverPort()));
    peer.send(RawFramePeer::frame(0x81, QByteArray(16, 'x'), true, announced));
    QCOMPARE(peer.closeCode(), closeCode);
    QVERIFY(peer.waitForDisconnect());
    bystanderIsServed();
}

// RFC 6455 says a server must close on an unmasked client frame, and the I/O threads do.
// QtWebSockets, which serves the connections of a server without I/O threads, reads it
// like a masked one: the answer is still defined, the same as for a masked frame.
void tst_Hostile::unmaskedFrameIsRefused()
{
    for (const int ioThreads : {2, 0}) {
        QStateSyncer server;
        server.setIoThreads(ioThreads);
        QVERIFY(server.listen(QHostAddress::LocalHost, 0));
        createState(server, "s");
        RawFramePeer peer;
        QVERIFY(peer.upgrade(server.serverPort()));
        peer.send(RawFramePeer::frame(0x81, R"({"type":2,"data":{"stateIdentifier":"s"}})", false));
        if (ioThreads > 0) {
            QCOMPARE(peer.closeCode(), int(ProtocolError));
            QVERIFY(peer.waitForDisconnect());
        } else {
            QCOMPARE(peer.nextMessage().value("type").toInt(), 7);
        }
    }
    bystanderIsServed();
}

void tst_Hostile::fragmentedMessageIsReassembled()
{
    RawFramePeer peer;
    QVERIFY(peer.upgrade(m_server->serverPort()));
    peer.send(RawFramePeer::frame(0x01, R"({"type":2,)")
              + RawFramePeer::frame(0x89, "ping between fragments")
              + RawFramePeer::frame(0x00, R"("data":{"stateI)")
              + RawFramePeer::frame(0x80, R"(dentifier":"s"}})"));
    const auto pong = peer.next();
    QVERIFY(pong);
    QCOMPARE(pong->opcode, 0xa);
    QCOMPARE(pong->payload, QByteArray("ping between fragments"));
    QCOMPARE(peer.nextMessage().value("type").toInt(), 7);
}

void tst_Hostile::fragmentsAddingUpPastTheLimitAreRefused()
{
    RawFramePeer peer;
    QVERIFY(peer.upgrade(m_server->serverPort()));
    QByteArray bytes = RawFramePeer::frame(0x01, QByteArray(16 * 1024, ' '));
    for (int i = 0; i < 4; ++i)
        bytes += RawFramePeer::frame(0x00, QByteArray(16 * 1024, ' '));
    peer.send(bytes);
    QCOMPARE(peer.closeCode(), int(TooMuchData));
    QVERIFY(peer.waitForDisconnect());
    bystanderIsServed();
}

void tst_Hostile::clientVanishingMidFrameIsCleanedUp()
{
    QSignalSpy left(m_server.get(), &QStateSyncer::clientLeft);
    const int before = m_server->clientCount();
    {
        RawFramePeer peer;
        QVERIFY(peer.upgrade(m_server->serverPort(), "vanishing"));
        peer.send(RawFramePeer::text(R"({"type":2,"data":{"stateIdentifier":"s"}})"));
        QCOMPARE(peer.nextMessage().value("type").toInt(), 7);
        QTRY_COMPARE(m_server->clientCount(), before + 1);
        // Half a frame, then gone.
        const QByteArray whole = RawFramePeer::text(QByteArray(1000, ' '));
        peer.send(whole.left(40));
        peer.socket.abort();
    }
    QVERIFY(left.wait(Timeout));
    QCOMPARE(left.at(0).at(1).toString(), QStringLiteral("vanishing"));
    QTRY_COMPARE(m_server->clientCount(), before);
    QCOMPARE(m_server->clientsOfState("s"), QStringList{"bystander"});
    bystanderIsServed();
}

void tst_Hostile::handshakeCutOffHalfway()
{
    const QByteArray request = upgradeRequest("/?identifier=half");
    const int before = m_server->clientCount();
    // Half the head, then gone.
    {
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
        QVERIFY(socket.waitForConnected(Timeout));
        socket.write(request.left(request.size() / 2));
        QVERIFY(socket.waitForBytesWritten(Timeout));
        socket.abort();
    }
    // Half the head, then silence: closed after the handshake timeout.
    QTcpSocket stalled;
    stalled.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
    QVERIFY(stalled.waitForConnected(Timeout));
    stalled.write(request.left(request.size() / 2));
    QTRY_COMPARE_WITH_TIMEOUT(stalled.state(), QAbstractSocket::UnconnectedState, Timeout);
    QCOMPARE(m_server->clientCount(), before);
    bystanderIsServed();
}

void tst_Hostile::floodOfUpdatesIsRateLimited()
{
    m_server->setUpdateRate(20);
    m_server->setUpdateBurst(10);
    RawClient peer;
    QVERIFY(peer.open(urlOf(*m_server), "flooder"));
    QVERIFY(!peer.joinAndWait("s").isEmpty());
    const quint64 appliedBefore = m_server->updatesApplied();
    constexpr int Flood = 500;
    for (int i = 0; i < Flood; ++i)
        peer.update(QJsonObject{{"flood", i}}, i);
    // Every one is answered: an echo, or rate_limited with its request id.
    QVERIFY(peer.waitUntil([&] { return peer.received.size() >= Flood; }));
    int echoed = 0;
    int limited = 0;
    for (const QJsonObject &message : std::as_const(peer.received)) {
        const QJsonObject data = message.value("data").toObject();
        if (message.value("type").toInt() == 3 && data.contains("requestId"))
            ++echoed;
        else if (data.value("code") == QJsonValue("rate_limited"))
            ++limited;
    }
    QCOMPARE(echoed + limited, Flood);
    // The burst, and what refilled while the flood was read: far fewer than were sent.
    QVERIFY2(echoed >= 10 && echoed < 100, qPrintable(QString::number(echoed)));
    QCOMPARE(m_server->updatesApplied() - appliedBefore, quint64(echoed));
    // The others are not slowed down.
    bystanderIsServed();
}

void tst_Hostile::pingFloodWithoutReadingIsDropped()
{
    m_server->setMaxPendingOutput(16 * 1024);
    m_server->setHeartbeatInterval(0); // only the flood may end the connection here
    RawTcpPeer::Options options;
    options.receiveBufferSize = 4096;
    RawTcpPeer peer(options);
    QVERIFY(peer.open(m_server->serverPort(), "pinger"));
    peer.stopReading();
    const QByteArray payload(125, 'p');
    qint64 mostPending = 0;
    for (int batch = 0; batch < 400 && peer.isConnected(); ++batch) {
        for (int i = 0; i < 500; ++i)
            peer.sendPing(payload);
        peer.socket.flush();
        QCoreApplication::processEvents();
        mostPending = std::max(mostPending, m_server->pendingOutputBytes());
    }
    QTRY_VERIFY_WITH_TIMEOUT(!peer.isConnected(), Timeout);
    // An I/O thread drops it and closes the socket; the server counts it when it hears so.
    QTRY_COMPARE(m_server->connectionsDropped(), quint64(1));
    QTRY_COMPARE(m_server->pendingOutputBytes(), 0);
    // Bounded: twice the limit, plus what one read of pings makes the server answer.
    qInfo("at most %lld bytes waited for the pinging peer", mostPending);
    QVERIFY2(mostPending < 2 * 16 * 1024 + 512 * 1024, qPrintable(QString::number(mostPending)));
    bystanderIsServed();
}

void tst_Hostile::hostileRound()
{
    const auto refusedWith = [this](const QByteArray &bytes, int code) {
        RawFramePeer peer;
        QVERIFY(peer.upgrade(m_server->serverPort()));
        peer.send(bytes);
        QCOMPARE(peer.closeCode(), code);
    };
    refusedWith(RawFramePeer::text("\xff\xfe"), int(WrongDatatype));
    refusedWith(RawFramePeer::frame(0xc1, "{}"), int(ProtocolError));
    refusedWith(RawFramePeer::frame(0x81, "x", true, quint64(1) << 40), int(TooMuchData));
    {
        RawFramePeer peer;
        QVERIFY(peer.upgrade(m_server->serverPort()));
        peer.send(RawFramePeer::text(R"({"type":2,"data":{"stateIdentifier":"s"}})"));
        QCOMPARE(peer.nextMessage().value("type").toInt(), 7);
        for (const QByteArray &bad :
             {QByteArray("{oops"), QByteArray(R"({"type":3,"data":{"updates":[]}})"),
              QByteArray(R"({"type":3,"data":{"updates":{"n":)") + QByteArray(500, '[')
                      + QByteArray(500, ']') + "}}}",
              QByteArray(R"({"type":20,"data":{"appends":{"list":5}}})")}) {
            peer.send(RawFramePeer::text(bad));
            QVERIFY(knownCode(peer.nextMessage()));
        }
        peer.send(RawFramePeer::frame(0x82, "binary"));
        QVERIFY(knownCode(peer.nextMessage()));
        peer.send(RawFramePeer::text(QByteArray(1000, ' ')).left(30));
        peer.socket.abort();
    }
    {
        QTcpSocket half;
        half.connectToHost(QHostAddress::LocalHost, m_server->serverPort());
        QVERIFY(half.waitForConnected(Timeout));
        half.write("GET /?identifier=x HTTP/1.1\r\nHost: 127.");
        QVERIFY(half.waitForBytesWritten(Timeout));
        half.abort();
    }
    QTRY_COMPARE(m_server->clientCount(), 1);
    bystanderIsServed();
}

// The same hostile round many times: the server's heap does not grow with it (what a
// round allocates is freed when its connections go), and connections do not pile up.
void tst_Hostile::memoryComesBackAfterHostileRounds()
{
    for (int i = 0; i < 3; ++i) {
        hostileRound();
        if (QTest::currentTestFailed())
            return;
    }
    // Deferred deletions run in the event loop: let it go round until the heap settles.
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    const qint64 before = heapInUse();
    const quint64 refusedBefore = m_server->messagesRefused();
    constexpr int Rounds = 20;
    for (int i = 0; i < Rounds; ++i) {
        hostileRound();
        if (QTest::currentTestFailed())
            return;
    }
    QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
    const qint64 after = heapInUse();
    QCOMPARE(m_server->clientCount(), 1);
    QCOMPARE(m_server->messagesRefused() - refusedBefore, quint64(Rounds * 5));
    if (before < 0 || sanitized()) {
        // The sanitizer's allocator is not glibc's; LeakSanitizer checks leaks there.
        qInfo("heap check skipped (no glibc allocator statistics here)");
        return;
    }
    qInfo("heap in use: %lld bytes before, %lld after %d hostile rounds", before, after, Rounds);
    // A leak of even one connection per round would show as tens of kilobytes.
    QVERIFY2(after - before < 64 * 1024,
             qPrintable(QStringLiteral("heap grew by %1 bytes").arg(after - before)));
}

QTEST_MAIN(tst_Hostile)
#include "tst_hostile.moc"
