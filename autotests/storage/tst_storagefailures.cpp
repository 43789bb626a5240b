// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

// QStateSyncSqliteStorage when things go wrong: writes that fail, a storage closed while
// they fail, a damaged file, a lock left by a process that had our process id, and a
// server that moves to another thread.

#include "logcapture.h"
#include "storagesupport.h"

#include <QtCore/qelapsedtimer.h>
#include <QtCore/qfile.h>
#include <QtCore/qsysinfo.h>
#include <QtCore/qthread.h>
#include <QtCore/qtimer.h>

using namespace TestSupport;
using namespace StorageSupport;

class tst_StorageFailures : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void init();
    void failedWritesAreTriedAgainOnceASecond();
    void changesThatCannotBeStoredAreRefused_data();
    void changesThatCannotBeStoredAreRefused();
    void pendingWritesAreCapped();
    void damagedChangesAreKept_data();
    void damagedChangesAreKept();
    void lockOfAFormerProcessWithOurPidIsTakenOver();
    void storedChangesReachTheServersThread();

private:
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_file;
};

void tst_StorageFailures::init()
{
    m_dir = std::make_unique<QTemporaryDir>();
    QVERIFY(m_dir->isValid());
    m_file = m_dir->filePath(QStringLiteral("data/states.sqlite"));
}

void tst_StorageFailures::failedWritesAreTriedAgainOnceASecond()
{
    LogCapture log;
    Node node(m_file, Durability::Durable);
    createState(*node.server, "doc");
    QSignalSpy updated(node.server.get(), &QStateSyncer::stateUpdated);
    QTRY_VERIFY_WITH_TIMEOUT(FileReader(m_file).count("SELECT COUNT(*) FROM states") == 1, Timeout);
    FileBreaker breaker(m_file);
    QVERIFY(breaker.failWrites());
    QSignalSpy errors(node.storage.get(), &QStateSyncStorage::errorOccurred);
    QVERIFY(node.server->updateStateValue("doc", {{"n", 0}}));
    QVERIFY(errors.wait(Timeout));
    QElapsedTimer sinceFailure;
    sinceFailure.start();
    // Changes keep coming while the write fails: each one wakes the storage's thread, which
    // must not take it for the moment to try again.
    int sent = 0;
    QTimer load;
    connect(&load, &QTimer::timeout, this, [&] {
        node.server->updateStateValue("doc", {{"n", ++sent}});
    });
    load.start(5);
    QVERIFY(errors.wait(Timeout));
    const qint64 secondTry = sinceFailure.elapsed();
    QVERIFY(errors.wait(Timeout));
    load.stop();
    QVERIFY2(sent > 20, qPrintable(QString::number(sent)));
    QVERIFY2(secondTry >= 900, qPrintable(QString::number(secondTry)));
    QVERIFY(errors.constLast().at(0).toString().contains("the disk is on fire"));
    QVERIFY(node.storage->errorString().contains("try 3"));
    // One line for the failure, not one per try.
    QCOMPARE(LogCapture::linesIn("qstatesync.storage").filter("cannot write").size(), 1);
    QCOMPARE(updated.size(), 0);

    QVERIFY(breaker.mendWrites());
    QTRY_COMPARE_WITH_TIMEOUT(updated.size(), sent + 1, Timeout);
    QCOMPARE(node.server->versionOfState("doc"), sent + 1);
    QCOMPARE(node.storage->errorString(), QString());
    QVERIFY(!LogCapture::linesIn("qstatesync.storage").filter("again, after").isEmpty());
}

void tst_StorageFailures::changesThatCannotBeStoredAreRefused_data()
{
    QTest::addColumn<bool>("destroyed");
    QTest::addRow("storage detached") << false;
    QTest::addRow("storage destroyed") << true;
}

void tst_StorageFailures::changesThatCannotBeStoredAreRefused()
{
    QFETCH(bool, destroyed);
    Node node(m_file, Durability::Durable);
    createState(*node.server, "doc", {{"a", 1}});
    auto client = joinedClient(*node.server, "alice", "doc");
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QSignalSpy updated(node.server.get(), &QStateSyncer::stateUpdated);
    client->updateState(QJsonObject{{"a", 2}});
    QVERIFY(acknowledged.wait(Timeout));

    FileBreaker breaker(m_file);
    QVERIFY(breaker.failWrites());
    client->updateState(QJsonObject{{"a", 3}});
    client->updateState(QJsonObject{{"b", 4}});
    QVERIFY(node.server->updateStateValue("doc", {{"c", 5}}));
    // All three wait for the disk, which failed at least twice.
    QTRY_VERIFY_WITH_TIMEOUT(node.storage->errorString().contains("3 writes waiting"), Timeout);
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("could not be stored"));
    if (destroyed)
        node.storage.reset();
    else
        QVERIFY(node.server->setStorage(nullptr));
    QCOMPARE(node.server->storage(), nullptr);

    // Nothing of them was shown, and they are not applied: the server goes on in memory
    // from what its clients saw.
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 2, Timeout);
    for (const auto &failure : std::as_const(failed))
        QCOMPARE(failure.at(1).value<QStateSync::Error>(), QStateSync::Error::StorageFailed);
    QCOMPARE(acknowledged.size(), 1);
    QCOMPARE(updated.size(), 1);
    QCOMPARE(node.server->versionOfState("doc"), 1);
    QCOMPARE(*node.server->valueOfState("doc"), QJsonObject({{"a", 2}}));
    QVERIFY(node.server->updateStateValue("doc", {{"d", 6}}));
    QCOMPARE(node.server->versionOfState("doc"), 2);
    QTRY_COMPARE_WITH_TIMEOUT(client->value(), QVariantMap({{"a", 2}, {"d", 6}}), Timeout);
}

void tst_StorageFailures::pendingWritesAreCapped()
{
    LogCapture log;
    Node node(m_file, Durability::Durable);
    node.storage->setMaxPendingWrites(5);
    createState(*node.server, "doc");
    auto client = joinedClient(*node.server, "alice", "doc");
    QSignalSpy acknowledged(client.get(), &QStateSyncClient::updateAcknowledged);
    QSignalSpy failed(client.get(), &QStateSyncClient::updateFailed);
    QTRY_VERIFY_WITH_TIMEOUT(FileReader(m_file).count("SELECT COUNT(*) FROM states") == 1, Timeout);
    FileBreaker breaker(m_file);
    QVERIFY(breaker.failWrites());
    for (int i = 1; i <= 12; ++i)
        client->updateState(QJsonObject{{QStringLiteral("k%1").arg(i), i}});
    // Five wait for the disk; the others are refused at once, with one log line.
    QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 7, Timeout);
    for (const auto &failure : std::as_const(failed))
        QCOMPARE(failure.at(1).value<QStateSync::Error>(), QStateSync::Error::StorageFailed);
    QCOMPARE(acknowledged.size(), 0);
    const QStringList lines = LogCapture::linesIn("qstatesync.storage").filter("storage_failed");
    QCOMPARE(lines.size(), 1);
    QVERIFY(lines.first().contains("5 writes wait"));
    // The application's changes are held to the same limit.
    QVERIFY(node.server->updateStateValue("doc", {{"server", true}}));
    QCOMPARE(node.server->versionOfState("doc"), 0);

    QVERIFY(breaker.mendWrites());
    QTRY_COMPARE_WITH_TIMEOUT(acknowledged.size(), 5, Timeout);
    QCOMPARE(node.server->versionOfState("doc"), 5);
    QCOMPARE(node.server->valueOfState("doc")->value("k5").toInt(), 5);
    // Room again: changes are taken.
    client->updateState(QJsonObject{{"after", true}});
    QVERIFY(acknowledged.wait(Timeout));
    QCOMPARE(node.server->versionOfState("doc"), 6);
}

void tst_StorageFailures::damagedChangesAreKept_data()
{
    QTest::addColumn<QString>("damage");
    QTest::addColumn<QString>("complaint");
    QTest::addRow("not JSON") << "UPDATE changes SET changes = '{not json' WHERE version = 2"
                              << "cannot be read";
    QTest::addRow("not an object") << "UPDATE changes SET changes = '[1]' WHERE version = 2"
                                   << "cannot be read";
    QTest::addRow("a gap") << "DELETE FROM changes WHERE version = 2"
                           << "change 3 of state doc (the row of the table changes with "
                              "identifier 'doc' and version 3) does not follow version 1";
}

void tst_StorageFailures::damagedChangesAreKept()
{
    QFETCH(QString, damage);
    QFETCH(QString, complaint);
    {
        Node node(m_file);
        createState(*node.server, "doc");
        for (int i = 1; i <= 4; ++i)
            QVERIFY(node.server->updateStateValue("doc", {{"n", i}}));
    }
    qint64 rows = 0;
    {
        FileBreaker breaker(m_file);
        QVERIFY(breaker.exec(damage));
        rows = FileReader(m_file).count("SELECT COUNT(*) FROM changes");
    }
    QStateSyncSqliteStorage storage(m_file);
    QStateSyncer server;
    QTest::ignoreMessage(QtWarningMsg, QRegularExpression("nothing was changed"));
    QVERIFY(!server.setStorage(&storage));
    QVERIFY2(storage.errorString().contains(complaint), qPrintable(storage.errorString()));
    QVERIFY(storage.errorString().contains("change 2 of state doc")
            || storage.errorString().contains("change 3 of state doc"));
    // Every row is still there, for whoever repairs the file.
    FileReader reader(m_file);
    QCOMPARE(reader.count("SELECT COUNT(*) FROM changes"), rows);
    QCOMPARE(reader.count("SELECT COUNT(*) FROM changes WHERE version = 4"), 1);
}

void tst_StorageFailures::lockOfAFormerProcessWithOurPidIsTakenOver()
{
    // A process killed in a container, restarted with the same process id (the first of
    // the container): its lock names this very process, on this host.
    QVERIFY(QDir().mkpath(QFileInfo(m_file).absolutePath()));
    QFile lock(m_file + ".lock");
    QVERIFY(lock.open(QIODevice::WriteOnly));
    lock.write(QByteArray::number(QCoreApplication::applicationPid()) + '\n'
               + QCoreApplication::applicationName().toUtf8() + '\n'
               + QSysInfo::machineHostName().toUtf8() + '\n');
    lock.close();
    {
        Node node(m_file);
        QVERIFY2(node.attached, qPrintable(node.storage->errorString()));
        // Held now: another storage is refused, and told by whom.
        QStateSyncSqliteStorage second(m_file);
        QStateSyncer server;
        QTest::ignoreMessage(QtWarningMsg, QRegularExpression("is in use by process"));
        QVERIFY(!server.setStorage(&second));
        QVERIFY(second.errorString().contains(QString::number(QCoreApplication::applicationPid())));
    }
    QVERIFY(!QFileInfo::exists(m_file + ".lock"));
}

void tst_StorageFailures::storedChangesReachTheServersThread()
{
    Node node(m_file, Durability::Durable);
    createState(*node.server, "doc");
    QThread serverThread;
    serverThread.start();
    // Only the server moves; the storage, which the application owns, stays here.
    node.server->moveToThread(&serverThread);
    QAtomicPointer<QThread> emittedIn;
    QAtomicInt updates;
    connect(
            node.server.get(), &QStateSyncer::stateUpdated, node.server.get(),
            [&] {
                emittedIn.storeRelease(QThread::currentThread());
                updates.fetchAndAddRelease(1);
            },
            Qt::DirectConnection);
    QMetaObject::invokeMethod(node.server.get(), [&] {
        node.server->updateStateValue("doc", {{"a", 1}});
    });
    QTRY_COMPARE_WITH_TIMEOUT(updates.loadAcquire(), 1, Timeout);
    QCOMPARE(emittedIn.loadAcquire(), &serverThread);
    // Back to this thread before it goes.
    QThread *const testThread = QThread::currentThread();
    QMetaObject::invokeMethod(
            node.server.get(), [&] { node.server->moveToThread(testThread); },
            Qt::BlockingQueuedConnection);
    // Qt hands the timers of the server and its children over by calls posted to them in
    // this thread: delivered now, not dropped with the server (which would leak Qt's lists
    // of them).
    QCoreApplication::sendPostedEvents(nullptr, QEvent::MetaCall);
    serverThread.quit();
    QVERIFY(serverThread.wait(Timeout));
}

QTEST_MAIN(tst_StorageFailures)
#include "tst_storagefailures.moc"
