// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: GPL-3.0-only

#ifndef DAEMONSUPPORT_H
#define DAEMONSUPPORT_H

// What the qstatesyncd suites share: the daemon as a child process that is always
// stopped, files written for it, JWTs signed on the spot, and plain HTTP requests.

#include "testsupport.h"

#include <QtCore/qcryptographichash.h>
#include <QtCore/qdatetime.h>
#include <QtCore/qfile.h>
#include <QtCore/qmessageauthenticationcode.h>
#include <QtCore/qprocess.h>
#include <QtCore/qregularexpression.h>
#include <QtCore/qtemporarydir.h>
#include <QtNetwork/qtcpsocket.h>

#include <csignal>

namespace DaemonSupport {

using TestSupport::Timeout;

// The environment the daemon runs in: the test's, without a JWT secret a developer may
// have exported.
inline QProcessEnvironment daemonEnvironment()
{
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.remove(QStringLiteral("QSTATESYNC_JWT_SECRET"));
    return environment;
}

// environment with XDG_DATA_HOME in dataHome: the daemon's default data folder (its SQLite
// storage) is one of its own, removed after the test, never the developer's. A test that
// restarts a daemon on the same states gives both --data-dir.
inline QProcessEnvironment withDataHome(QProcessEnvironment environment,
                                        const QTemporaryDir &dataHome)
{
    environment.insert(QStringLiteral("XDG_DATA_HOME"), dataHome.path());
    return environment;
}

// A running qstatesyncd that is always stopped, whatever the test's outcome.
class Daemon
{
public:
    explicit Daemon(const QStringList &arguments,
                    const QProcessEnvironment &environment = daemonEnvironment())
    {
        process.setProgram(QStringLiteral(QSTATESYNCD_PATH));
        process.setArguments(arguments);
        process.setProcessEnvironment(withDataHome(environment, dataHome));
        process.start();
    }
    ~Daemon()
    {
        if (process.state() != QProcess::NotRunning) {
            process.kill();
            process.waitForFinished(Timeout);
        }
    }

    // Waits for the line that names the listening URL.
    QUrl waitForUrl()
    {
        static const QRegularExpression line(QStringLiteral("listening on (wss?://[^ ]+)"));
        QDeadlineTimer deadline(Timeout);
        while (!deadline.hasExpired()) {
            stdoutText += QString::fromLocal8Bit(process.readAllStandardOutput());
            const QRegularExpressionMatch match = line.match(stdoutText);
            if (match.hasMatch())
                return QUrl(match.captured(1) + QLatin1Char('/'));
            if (process.state() == QProcess::NotRunning
                || !process.waitForReadyRead(int(deadline.remainingTime())))
                break;
        }
        return QUrl();
    }
    quint16 port() const { return quint16(url.port()); }
    bool start()
    {
        url = waitForUrl();
        return url.isValid();
    }

    // Standard error so far (the daemon's log).
    QString log()
    {
        stderrText += QString::fromLocal8Bit(process.readAllStandardError());
        return stderrText;
    }
    // Waits until the log holds text.
    bool waitForLog(const QString &text)
    {
        return QTest::qWaitFor([&] { return log().contains(text); }, Timeout);
    }

    // Waits for the process to end. waitForFinished() alone returns false for a process
    // that ended while an event loop ran, so that case counts too.
    bool waitForExit()
    {
        return process.state() == QProcess::NotRunning || process.waitForFinished(Timeout);
    }

    // Sends SIGTERM and waits for the exit; true when it exited normally with 0. A
    // process that already ended is not signalled (kill(0) would reach the whole
    // process group, the test runner included), and the answer is false.
    bool terminate()
    {
        const qint64 pid = process.processId();
        if (pid <= 0)
            return false;
        ::kill(pid_t(pid), SIGTERM);
        return waitForExit() && process.exitStatus() == QProcess::NormalExit
                && process.exitCode() == 0;
    }

    QTemporaryDir dataHome; // before process: it outlives the daemon
    QProcess process;
    QUrl url;
    QString stdoutText;
    QString stderrText;
};

struct Finished
{
    int exitCode = -1;
    QString output;
};

// Runs the daemon to its end (for options that make it exit at once).
inline Finished runToEnd(const QStringList &arguments,
                         const QProcessEnvironment &environment = daemonEnvironment())
{
    QTemporaryDir dataHome;
    QProcess process;
    process.setProcessEnvironment(withDataHome(environment, dataHome));
    process.start(QStringLiteral(QSTATESYNCD_PATH), arguments);
    if (!process.waitForFinished(Timeout)) {
        process.kill();
        process.waitForFinished(Timeout);
        return {};
    }
    return {process.exitCode(),
            QString::fromLocal8Bit(process.readAllStandardOutput()
                                   + process.readAllStandardError())};
}

inline QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &content)
{
    const QString path = dir.filePath(name);
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        qFatal("cannot write %s", qPrintable(path));
    file.write(content);
    return path;
}

inline QString writeJson(const QTemporaryDir &dir, const QString &name, const QJsonObject &json)
{
    return writeFile(dir, name, QJsonDocument(json).toJson());
}

inline QByteArray base64Url(const QByteArray &data)
{
    return data.toBase64(QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals);
}

inline QJsonObject hs256Header()
{
    return {{QStringLiteral("alg"), QStringLiteral("HS256")},
            {QStringLiteral("typ"), QStringLiteral("JWT")}};
}

// A JWT with claims, signed with secret (HMAC-SHA256) whatever the header says.
inline QByteArray makeJwt(const QJsonObject &claims, const QByteArray &secret,
                          const QJsonObject &header = hs256Header())
{
    const QByteArray input = base64Url(QJsonDocument(header).toJson(QJsonDocument::Compact)) + '.'
            + base64Url(QJsonDocument(claims).toJson(QJsonDocument::Compact));
    return input + '.'
            + base64Url(
                    QMessageAuthenticationCode::hash(input, secret, QCryptographicHash::Sha256));
}

inline qint64 secondsFromNow(qint64 seconds)
{
    return QDateTime::currentSecsSinceEpoch() + seconds;
}

// Opens a RawClient and joins state; returns the STATE_CONNECTION_ESTABLISHED data (or
// the STATE_CONNECTION_ERROR data, which has a "code").
inline QJsonObject openAndJoin(TestSupport::RawClient &client, const QUrl &url,
                               const QString &identifier, const QString &token,
                               const QString &state)
{
    if (!client.open(url, identifier, token))
        return {};
    client.join(state);
    QJsonObject answer;
    client.waitUntil([&] {
        for (qsizetype i = 0; i < client.received.size(); ++i) {
            const int type = client.received.at(i).value(QStringLiteral("type")).toInt();
            if (type == 7 || type == 8) {
                answer = client.received.takeAt(i).value(QStringLiteral("data")).toObject();
                return true;
            }
        }
        return false;
    });
    return answer;
}

// The answer to an update with requestId: the broadcast (type 3) or the failure (type
// 9, with a "code").
inline QJsonObject answerTo(TestSupport::RawClient &client, int requestId)
{
    QJsonObject found;
    client.waitUntil([&] {
        for (qsizetype i = 0; i < client.received.size(); ++i) {
            const QJsonObject data = client.received.at(i).value(QStringLiteral("data")).toObject();
            if (data.value(QStringLiteral("requestId")).toInt() == requestId) {
                found = client.received.takeAt(i);
                return true;
            }
        }
        return false;
    });
    return found;
}

struct HttpResponse
{
    int status = 0;
    QByteArray head;
    QByteArray body;
};

// A plain HTTP request on the daemon's port, read until the server closes.
inline HttpResponse httpRequest(quint16 port, const QByteArray &path,
                                const QByteArray &method = "GET")
{
    HttpResponse response;
    QTcpSocket socket;
    socket.connectToHost(QHostAddress::LocalHost, port);
    if (!socket.waitForConnected(Timeout))
        return response;
    socket.write(method + ' ' + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    QByteArray data;
    (void)QTest::qWaitFor(
            [&] {
                data += socket.readAll();
                return socket.state() == QAbstractSocket::UnconnectedState;
            },
            Timeout);
    data += socket.readAll();
    const qsizetype end = data.indexOf("\r\n\r\n");
    if (end < 0)
        return response;
    response.head = data.left(end);
    response.body = data.mid(end + 4);
    response.status = response.head.split(' ').value(1).toInt();
    return response;
}

} // namespace DaemonSupport

#endif // DAEMONSUPPORT_H
