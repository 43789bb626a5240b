// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: BSD-3-Clause

#include "chatserver.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncUpdateRequest>

#include <QtCore/qdatetime.h>
#include <QtCore/qjsonarray.h>
#include <QtCore/qloggingcategory.h>
#include <QtCore/qmessageauthenticationcode.h>

Q_LOGGING_CATEGORY(lcChat, "example.chatserver", QtInfoMsg)

namespace {
constexpr auto Room = "myGroupChat";
constexpr int MaxMessageLength = 500;
const auto Base64Url = QByteArray::Base64UrlEncoding | QByteArray::OmitTrailingEquals;
} // namespace

QString ChatServer::makeToken(const QString &email, const QByteArray &secret)
{
    const QByteArray payload = email.toUtf8();
    const QByteArray signature
            = QMessageAuthenticationCode::hash(payload, secret, QCryptographicHash::Sha256);
    return QString::fromLatin1(payload.toBase64(Base64Url) + '.' + signature.toBase64(Base64Url));
}

QString ChatServer::verifyToken(const QString &token, const QByteArray &secret)
{
    const QList<QByteArray> parts = token.toLatin1().split('.');
    if (parts.size() != 2)
        return QString();
    const auto payload = QByteArray::fromBase64Encoding(parts.at(0), Base64Url);
    const auto signature = QByteArray::fromBase64Encoding(parts.at(1), Base64Url);
    if (!payload || !signature)
        return QString();
    const QByteArray expected
            = QMessageAuthenticationCode::hash(payload.decoded, secret, QCryptographicHash::Sha256);
    // Compare in constant time: a timing difference would reveal the signature.
    if (expected.size() != signature.decoded.size())
        return QString();
    char difference = 0;
    for (qsizetype i = 0; i < expected.size(); ++i)
        difference |= char(expected.at(i) ^ signature.decoded.at(i));
    return difference == 0 ? QString::fromUtf8(payload.decoded) : QString();
}

//! [authorization]
ChatServer::ChatServer(const Settings &settings, QObject *parent)
    : QObject(parent)
    , m_settings(settings)
{
    // Token authorization, the original's useAuthorizationMiddleware: the claims become
    // the client information every later hook receives.
    m_syncer.useAuthorizationMiddleware(
            [this](QStateSyncAuthorizationRequest *request,
                   const QStateSyncer::AuthorizationCallback &callback) {
                const QString email = verifyToken(request->token(), m_settings.secret);
                if (email.isEmpty()) {
                    qCInfo(lcChat) << "refused a connection with an invalid token";
                    callback({}, false);
                    return;
                }
                QStringList permissions{QStringLiteral("chat")};
                if (m_settings.admins.contains(email))
                    permissions.append(QStringLiteral("admin"));
                callback({{QStringLiteral("email"), email},
                          {QStringLiteral("permissions"), permissions}},
                         true);
            });
    //! [authorization]

    //! [update-hook]
    // Only admins may change the room's topic: a hook through the request signal, which
    // could as well defer and ask a database.
    connect(&m_syncer, &QStateSyncer::updateRequested, this, [](QStateSyncUpdateRequest *request) {
        if (request->isServerSide() || !request->updates().contains(QStringLiteral("topic")))
            return;
        const QStringList permissions
                = request->clientInformation().value(QStringLiteral("permissions")).toStringList();
        if (!permissions.contains(QStringLiteral("admin")))
            request->reject(QStringLiteral("Only admins change the topic"));
    });
    //! [update-hook]

    connect(&m_syncer, &QStateSyncer::stateRemoved, this,
            [this](const QString &identifier, QStateSync::RemovalReason reason) {
                qCInfo(lcChat).noquote() << "room" << identifier
                                         << "closed:" << QStateSync::removalReasonName(reason);
                // A new room opens for the next visitors.
                if (identifier == QLatin1String(Room))
                    createRoom();
            });
    connect(&m_syncer, &QStateSyncer::clientJoined, this,
            [](const QString &, const QString &, const QVariantMap &information) {
                qCInfo(lcChat).noquote()
                        << information.value(QStringLiteral("email")).toString() << "joined";
            });
    createRoom();
}

bool ChatServer::listen(const QHostAddress &address, quint16 port)
{
    return m_syncer.listen(address, port);
}

//! [room]
void ChatServer::createRoom()
{
    QStateSyncStateOptions options;
    options.setIdentifier(QString::fromLatin1(Room));
    options.setInitialValue(QJsonObject{{QStringLiteral("chatMessages"), QJsonArray()},
                                        {QStringLiteral("topic"), QStringLiteral("General")}});
    options.setTtl(m_settings.ttl);

    // Permission to join: only people of the allowed domain.
    const QString domain = m_settings.allowedDomain;
    options.setAllowConnectingClient([domain](const QVariantMap &clientInformation) {
        return clientInformation.value(QStringLiteral("email"))
                .toString()
                .endsWith(QLatin1Char('@') + domain);
    });

    // Messages are appended, never rewritten: refuse plain updates of the list.
    options.setInterceptStateUpdate(
            [](const QJsonObject &updates, const QVariantMap &) -> std::optional<QJsonObject> {
                if (updates.contains(QStringLiteral("chatMessages")))
                    return std::nullopt;
                return updates;
            });

    // Validate every appended message and stamp it with its author and time.
    options.setInterceptStateAppend(
            [](const QJsonObject &appends,
               const QVariantMap &clientInformation) -> std::optional<QJsonObject> {
                if (appends.size() != 1 || !appends.contains(QStringLiteral("chatMessages")))
                    return std::nullopt;
                QJsonArray stamped;
                const QJsonArray messages = appends.value(QStringLiteral("chatMessages")).toArray();
                for (const QJsonValue &message : messages) {
                    const QString content
                            = message.toObject().value(QStringLiteral("content")).toString();
                    if (content.trimmed().isEmpty() || content.size() > MaxMessageLength)
                        return std::nullopt;
                    stamped.append(QJsonObject{
                            {QStringLiteral("content"), content.trimmed()},
                            {QStringLiteral("author"),
                             clientInformation.value(QStringLiteral("email")).toString()},
                            {QStringLiteral("sentAt"),
                             QDateTime::currentDateTimeUtc().toString(Qt::ISODateWithMs)}});
                }
                return QJsonObject{{QStringLiteral("chatMessages"), stamped}};
            });

    // Close the room when the last person leaves.
    options.setSelfDestruct(
            [](int numberOfClientsLeft, const QDateTime &) { return numberOfClientsLeft == 0; });
    m_syncer.createState(options);
}
//! [room]
