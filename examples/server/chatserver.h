// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

#ifndef CHATSERVER_H
#define CHATSERVER_H

#include <QStateSyncer>

#include <QtCore/qobject.h>

#include <chrono>

// The seed's full server example, in C++: signed tokens, a join rule, interception that
// validates and stamps chat messages, a hook only admins pass, a room that goes away when
// empty or after its time to live.
class ChatServer : public QObject
{
    Q_OBJECT

public:
    struct Settings
    {
        QByteArray secret;
        QString allowedDomain;
        QStringList admins;
        std::chrono::minutes ttl{60};
    };

    explicit ChatServer(const Settings &settings, QObject *parent = nullptr);

    bool listen(const QHostAddress &address, quint16 port);
    QStateSyncer &syncer() { return m_syncer; }

    // A token for email, signed with secret: base64url(email) "." base64url(HMAC-SHA256).
    static QString makeToken(const QString &email, const QByteArray &secret);
    // The email a valid token was made for, or an empty string.
    static QString verifyToken(const QString &token, const QByteArray &secret);

private:
    void createRoom();

    Settings m_settings;
    QStateSyncer m_syncer;
};

#endif // CHATSERVER_H
