// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// What only the I/O threads do, seen from real sockets: the closing handshake in both
// directions and its timeout, half-closed connections, connections handed over and closed
// or destroyed in the same turn, frames written in order whatever the thread had to write
// first, no output limit, handlers that run a nested event loop while the server hands
// over what the threads read, and descriptors that all come back.

#include "rawframes.h"
#include "testsupport.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncer>

#include <QtCore/qdeadlinetimer.h>
#include <QtCore/qdir.h>
#include <QtCore/qendian.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qtimer.h>
#include <QtTest/qtest.h>

#include <QtCore/qscopeguard.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace TestSupport;

namespace {
const QByteArray Join = R"({"type":2,"data":{"stateIdentifier":"s"}})";

QByteArray closePayload(quint16 code, const QByteArray &reason = {})
{
    char bytes[2];
    qToBigEndian(code, bytes);
    return QByteArray(bytes, 2) + reason;
}

QByteArray update(const QByteArray &key, int value)
{
    return R"({"type":3,"data":{"updates":{")" + key + "\":" + QByteArray::number(value) + "}}}";
}

qsizetype openDescriptors()
{
    return QDir(QStringLiteral("/proc/self/fd")).entryList(QDir::Files | QDir::System).size();
}

std::unique_ptr<QStateSyncer> serverWithIoThreads(int threads)
{
    auto server = std::make_unique<QStateSyncer>();
    server->setIoThreads(threads);
    if (!server->listen(QHostAddress::LocalHost, 0))
        qFatal("cannot listen: %s", qPrintable(server->errorString()));
    createState(*server, "s");
    return server;
}
} // namespace

class tst_IoThreads : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void serverCloseIsAnsweredAndTheServerCloses();
    void serverCloseWithoutAnAnswerEndsAfterTheTimeout();
    void peerCloseIsEchoedAndTheServerClosesFirst();
    void halfClosedPeerLeaves();
    void closeInTheTurnTheConnectionCameSendsTheCloseFrame();
    void serverDestroyedInTheTurnTheConnectionCameClosesIt();
    void nestedEventLoopInAHandlerKeepsTheOrderOfEvents();
    void serverDestroyedByAHandlerWhileEventsWait();
    void noOutputLimitQueuesEverythingAndDropsNothing();
    void descriptorsComeBackAfterEveryKindOfEnd();
};

void tst_IoThreads::initTestCase()
{
    // The hostile peers below make the server log a line each.
    QLoggingCategory::setFilterRules(QStringLiteral("qstatesync.*.info=false"));
}

void tst_IoThreads::serverCloseIsAnsweredAndTheServerCloses()
{
    const auto server = serverWithIoThreads(2);
    RawFramePeer peer;
    QVERIFY(peer.upgrade(server->serverPort()));
    peer.send(RawFramePeer::text(Join));
    QCOMPARE(peer.nextMessage().value("type").toInt(), 7);
    QSignalSpy left(server.get(), &QStateSyncer::clientLeft);
    server->close();
    // A change after the close is not sent: nothing follows a close frame.
    QVERIFY(server->updateStateValue("s", {{"late", true}}));
    const auto frame = peer.next();
    QVERIFY(frame);
    QCOMPARE(frame->opcode, 0x8);
    QCOMPARE(frame->payload, closePayload(1001, "Server is closing"));
    peer.send(RawFramePeer::frame(0x88, closePayload(1001)));
    QVERIFY(!peer.next());
    QVERIFY(peer.waitForDisconnect());
    QVERIFY(left.count() == 1 || left.wait(Timeout));
    QCOMPARE(server->clientCount(), 0);
}

// The server's close frame went out; the peer never answers it, and does not close its
// side either (a QTcpSocket would, on the server's FIN): the connection ends anyway.
void tst_IoThreads::serverCloseWithoutAnAnswerEndsAfterTheTimeout()
{
    const auto server = serverWithIoThreads(1);
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    QVERIFY(fd >= 0);
    const auto closeFd = qScopeGuard([fd] { ::close(fd); });
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(server->serverPort());
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    QCOMPARE(::connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof address), 0);
    const QByteArray request = upgradeRequest("/?identifier=mute");
    QCOMPARE(::write(fd, request.constData(), size_t(request.size())), ssize_t(request.size()));
    QTRY_COMPARE(server->clientCount(), 1);
    server->close();
    QSignalSpy count(server.get(), &QStateSyncer::clientCountChanged);
    QVERIFY(count.wait(2 * Timeout));
    QCOMPARE(server->clientCount(), 0);
    // It got the answer to its handshake and the close frame, and nothing read since.
    QByteArray received(4096, Qt::Uninitialized);
    const ssize_t got = ::recv(fd, received.data(), size_t(received.size()), MSG_DONTWAIT);
    QVERIFY(got > 0);
    received.truncate(got);
    QVERIFY(received.startsWith("HTTP/1.1 101"));
    const QByteArray frames = received.mid(received.indexOf("\r\n\r\n") + 4);
    QCOMPARE(frames.left(4), QByteArray("\x88\x13\x03\xe9", 4));
}

void tst_IoThreads::peerCloseIsEchoedAndTheServerClosesFirst()
{
    const auto server = serverWithIoThreads(2);
    for (const auto &[sent, echoed] : {std::pair{closePayload(4000, "bye"), closePayload(4000)},
                                       std::pair{QByteArray(), closePayload(1000)}}) {
        RawFramePeer peer;
        QVERIFY(peer.upgrade(server->serverPort()));
        QTRY_COMPARE(server->clientCount(), 1);
        peer.send(RawFramePeer::frame(0x88, sent));
        const auto frame = peer.next();
        QVERIFY(frame);
        QCOMPARE(frame->opcode, 0x8);
        QCOMPARE(frame->payload, echoed);
        // The server closes the TCP connection; the peer only reads.
        QVERIFY(peer.waitForDisconnect());
        QTRY_COMPARE(server->clientCount(), 0);
    }
}

// A peer that shuts down its sending side without a close frame is gone, as after a
// reset: RFC 6455 has no half-open WebSocket.
void tst_IoThreads::halfClosedPeerLeaves()
{
    const auto server = serverWithIoThreads(2);
    RawFramePeer peer;
    QVERIFY(peer.upgrade(server->serverPort(), "half"));
    peer.send(RawFramePeer::text(Join));
    QCOMPARE(peer.nextMessage().value("type").toInt(), 7);
    QSignalSpy left(server.get(), &QStateSyncer::clientLeft);
    QCOMPARE(::shutdown(int(peer.socket.socketDescriptor()), SHUT_WR), 0);
    QVERIFY(left.wait(Timeout));
    QCOMPARE(left.first().at(1).toString(), QStringLiteral("half"));
    QVERIFY(peer.waitForDisconnect());
    QCOMPARE(server->clientCount(), 0);
}

// The connection is handed to its thread with the handshake's answer still to write, and
// closed in the same turn: the thread writes the answer, then the close frame.
void tst_IoThreads::closeInTheTurnTheConnectionCameSendsTheCloseFrame()
{
    const auto server = serverWithIoThreads(1);
    connect(server.get(), &QStateSyncer::authorizationRequested, this,
            [&](QStateSyncAuthorizationRequest *request) {
                request->defer();
                QTimer::singleShot(0, this, [&, request = QPointer(request)] {
                    QVERIFY(request);
                    request->accept();
                    server->close();
                });
            });
    RawFramePeer peer;
    QVERIFY(peer.upgrade(server->serverPort()));
    QCOMPARE(peer.closeCode(), 1001);
    peer.send(RawFramePeer::frame(0x88, closePayload(1001)));
    QVERIFY(peer.waitForDisconnect());
    QTRY_COMPARE(server->clientCount(), 0);
}

// The server goes in the turn a connection was handed over, before its thread had it:
// the connection is closed, not left open with nobody serving it.
void tst_IoThreads::serverDestroyedInTheTurnTheConnectionCameClosesIt()
{
    // What the first server opens once per process (Qt's own files) is not counted.
    serverWithIoThreads(1).reset();
    const qsizetype before = openDescriptors();
    {
        auto server = serverWithIoThreads(2);
        connect(server.get(), &QStateSyncer::authorizationRequested, this,
                [&](QStateSyncAuthorizationRequest *request) {
                    request->defer();
                    QTimer::singleShot(0, this, [&, request = QPointer(request)] {
                        QVERIFY(request);
                        request->accept();
                        server.reset();
                    });
                });
        QTcpSocket socket;
        socket.connectToHost(QHostAddress::LocalHost, server->serverPort());
        QVERIFY(socket.waitForConnected(Timeout));
        socket.write(upgradeRequest("/?identifier=early"));
        QVERIFY(QTest::qWaitFor(
                [&] {
                    socket.readAll();
                    return socket.state() == QAbstractSocket::UnconnectedState;
                },
                Timeout));
        QVERIFY(!server);
    }
    QCOMPARE(openDescriptors(), before);
}

// A handler that runs a nested event loop (a dialog, a wait) while the server hands over
// what a thread read: the events keep their order, and a peer that leaves meanwhile is
// released only after the events it sent before leaving.
void tst_IoThreads::nestedEventLoopInAHandlerKeepsTheOrderOfEvents()
{
    const auto server = serverWithIoThreads(1);
    RawFramePeer leaving;
    QVERIFY(leaving.upgrade(server->serverPort(), "leaving"));
    leaving.send(RawFramePeer::text(Join));
    QCOMPARE(leaving.nextMessage().value("type").toInt(), 7);

    bool nested = false;
    bool releasedMeanwhile = false;
    RawFramePeer next;
    connect(server.get(), &QStateSyncer::stateUpdated, this, [&] {
        if (std::exchange(nested, true))
            return;
        leaving.socket.abort();
        if (!QTest::qWaitFor([&] { return server->clientCount() == 0; }, Timeout))
            return;
        QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
        // The thread handles what the server hands it in order: once it answered a new
        // connection, it handled everything about the one that left.
        releasedMeanwhile = next.upgrade(server->serverPort(), "next");
    });
    // Both updates in one segment: the thread reads them at once, and the server gets
    // them in one batch.
    leaving.send(RawFramePeer::text(update("first", 1)) + RawFramePeer::text(update("second", 2)));
    QTRY_VERIFY(nested);
    QVERIFY(releasedMeanwhile);
    // Both came before the peer left: both are applied, in order.
    QTRY_COMPARE(server->versionOfState("s"), 2);
    QCOMPARE(*server->valueOfState("s"), (QJsonObject{{"first", 1}, {"second", 2}}));
    // The new connection is served, and got nothing of what the other one sent.
    next.send(RawFramePeer::text(Join));
    const QJsonObject joined = next.nextMessage();
    QCOMPARE(joined.value("type").toInt(), 7);
    QCOMPARE(joined.value("data").toObject().value("version").toInt(), 2);
}

// A handler destroys the server while the events of a turn are handed over: the rest are
// not handled, and every connection is closed.
void tst_IoThreads::serverDestroyedByAHandlerWhileEventsWait()
{
    auto server = serverWithIoThreads(1);
    std::vector<std::unique_ptr<RawFramePeer>> peers;
    for (int i = 0; i < 4; ++i) {
        peers.push_back(std::make_unique<RawFramePeer>());
        QVERIFY(peers.back()->upgrade(server->serverPort()));
        peers.back()->send(RawFramePeer::text(Join));
        QCOMPARE(peers.back()->nextMessage().value("type").toInt(), 7);
    }
    connect(server.get(), &QStateSyncer::clientCountChanged, this, [&] { server.reset(); });
    // One leaves, the others send: the thread reads it all in one turn, most likely.
    peers.front()->socket.abort();
    for (std::size_t i = 1; i < peers.size(); ++i)
        peers[i]->send(RawFramePeer::text(update("n", int(i))));
    QTRY_VERIFY(!server);
    for (std::size_t i = 1; i < peers.size(); ++i)
        QVERIFY(peers[i]->waitForDisconnect());
}

// With no limit, nothing is conflated or dropped: a peer that stops reading gets every
// update once it reads again, in order, and the count of what waits comes back to zero.
void tst_IoThreads::noOutputLimitQueuesEverythingAndDropsNothing()
{
    const auto server = serverWithIoThreads(2);
    server->setMaxPendingOutput(0);
    server->setHeartbeatInterval(0);
    server->setUpdateRate(0);
    RawTcpPeer slow({true, true, 4096});
    QVERIFY(slow.open(server->serverPort(), "slow"));
    slow.join("s");
    QVERIFY(!slow.take(7).isEmpty());
    slow.stopReading();
    // Until more than any limit would allow waits on the server's side, beyond what the
    // system's buffers took.
    const QString blob(4000, u'x');
    int updates = 0;
    int looksAbove = 0;
    const QDeadlineTimer deadline(4 * Timeout);
    while (looksAbove < 5 && !deadline.hasExpired()) {
        QVERIFY(server->updateStateValue("s", {{"n", ++updates}, {"blob", blob}}));
        QCoreApplication::processEvents();
        looksAbove = server->pendingOutputBytes() > 512 * 1024 ? looksAbove + 1 : 0;
    }
    QVERIFY(looksAbove >= 5);
    // A ping flood, answered and never dropped either.
    for (int i = 0; i < 2000; ++i)
        slow.sendPing(QByteArray(100, 'p'));
    QTRY_VERIFY(slow.socket.bytesToWrite() == 0);
    QCOMPARE(server->connectionsDropped(), 0u);
    slow.resumeReading();
    QVERIFY(slow.waitUntil([&] { return slow.received.size() >= updates; }, 4 * Timeout));
    QCOMPARE(slow.received.size(), updates);
    for (int i = 0; i < updates; ++i) {
        const QJsonObject data = slow.received.at(i).value("data").toObject();
        QCOMPARE(data.value("version").toInt(), i + 1);
        QVERIFY(!data.value("conflated").toBool());
    }
    QTRY_COMPARE(server->pendingOutputBytes(), 0);
    QCOMPARE(server->clientCount(), 1);
}

// Every way a connection ends gives back its descriptor: close frames both ways, resets,
// protocol errors, frames too large, vanishing mid-frame, the heartbeat.
void tst_IoThreads::descriptorsComeBackAfterEveryKindOfEnd()
{
    const auto server = serverWithIoThreads(2);
    server->setMaxPendingOutput(8 * 1024);
    server->setHeartbeatInterval(500);
    server->setMaxMessageSize(4096);
    qsizetype before = -1;
    for (int round = 0; round < 4; ++round) {
        // What Qt opens once, on the first use of something, is not counted.
        if (round == 1)
            before = openDescriptors();
        std::vector<std::unique_ptr<RawFramePeer>> peers;
        const auto open = [&] {
            peers.push_back(std::make_unique<RawFramePeer>());
            return peers.back()->upgrade(server->serverPort());
        };
        QVERIFY(open()); // is closed by the server, and answers
        QTRY_COMPARE(server->clientCount(), 1);
        server->close();
        QVERIFY(server->listen(QHostAddress::LocalHost, 0));
        QCOMPARE(peers.back()->closeCode(), 1001);
        peers.back()->send(RawFramePeer::frame(0x88, closePayload(1001)));
        QVERIFY(open()); // closes with a close frame
        peers.back()->send(RawFramePeer::frame(0x88, closePayload(1000)));
        QVERIFY(open()); // resets
        peers.back()->socket.abort();
        QVERIFY(open()); // breaks the protocol
        peers.back()->send(RawFramePeer::frame(0xc1, "x"));
        QVERIFY(open()); // announces too much
        peers.back()->send(RawFramePeer::frame(0x81, "x", true, 1 << 20));
        QVERIFY(open()); // vanishes mid-frame
        peers.back()->send(RawFramePeer::text(QByteArray(100, ' ')).left(20));
        peers.back()->socket.abort();
        QVERIFY(open()); // is silent: the heartbeat ends it
        for (const auto &peer : peers) {
            if (peer->socket.state() != QAbstractSocket::UnconnectedState)
                QVERIFY(peer->waitForDisconnect(2 * Timeout));
        }
        peers.clear();
        QTRY_COMPARE(server->clientCount(), 0);
    }
    QTRY_COMPARE(openDescriptors(), before);
}

QTEST_GUILESS_MAIN(tst_IoThreads)
#include "tst_iothreads.moc"
