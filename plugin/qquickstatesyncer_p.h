// Copyright (C) 2026 The QStateSync Authors.
// SPDX-License-Identifier: LGPL-3.0-only OR GPL-2.0-only OR GPL-3.0-only

#ifndef QQUICKSTATESYNCER_P_H
#define QQUICKSTATESYNCER_P_H

//
//  W A R N I N G
//  -------------
//
// This file is not part of the QStateSync API. It may change without notice.
//

#include "qquickstatesyncstate_p.h"

#include <QStateSyncAuthorizationRequest>
#include <QStateSyncHttpRequest>
#include <QStateSyncStorage>
#include <QStateSyncJoinRequest>
#include <QStateSyncUpdateRequest>
#include <QStateSyncer>

#include <QtCore/qobject.h>
#include <QtCore/qpointer.h>
#include <QtCore/qurl.h>
#include <QtQml/qqml.h>
#include <QtQml/qqmllist.h>
#include <QtQml/qqmlparserstatus.h>

// A QStateSyncer as a declarative QML element: states as children, hooks as signal
// handlers. It starts listening when the declaration is complete.
class QQuickStateSyncer : public QObject, public QQmlParserStatus
{
    Q_OBJECT
    Q_INTERFACES(QQmlParserStatus)
    QML_NAMED_ELEMENT(StateSyncer)
    Q_CLASSINFO("DefaultProperty", "states")
    Q_PROPERTY(QString host READ host WRITE setHost NOTIFY hostChanged)
    Q_PROPERTY(int port READ port WRITE setPort NOTIFY portChanged)
    Q_PROPERTY(bool running READ isRunning WRITE setRunning NOTIFY runningChanged)
    Q_PROPERTY(bool listening READ isListening NOTIFY listeningChanged)
    Q_PROPERTY(int serverPort READ serverPort NOTIFY listeningChanged)
    Q_PROPERTY(QUrl url READ url NOTIFY listeningChanged)
    Q_PROPERTY(QUrl certificateFile READ certificateFile WRITE setCertificateFile NOTIFY
                       certificateFileChanged)
    Q_PROPERTY(QUrl keyFile READ keyFile WRITE setKeyFile NOTIFY keyFileChanged)
    Q_PROPERTY(qint64 maxMessageSize READ maxMessageSize WRITE setMaxMessageSize NOTIFY
                       maxMessageSizeChanged)
    Q_PROPERTY(int maxNestingDepth READ maxNestingDepth WRITE setMaxNestingDepth NOTIFY
                       maxNestingDepthChanged)
    Q_PROPERTY(QString errorString READ errorString NOTIFY errorStringChanged)
    Q_PROPERTY(int clientCount READ clientCount NOTIFY clientCountChanged)
    Q_PROPERTY(QStringList stateIdentifiers READ stateIdentifiers NOTIFY stateIdentifiersChanged)
    Q_PROPERTY(QQmlListProperty<QQuickStateSyncState> states READ states)
    Q_PROPERTY(QStateSyncStorage *storage READ storage WRITE setStorage NOTIFY storageChanged)
    Q_PROPERTY(QStateSyncer *syncer READ syncer CONSTANT)

public:
    explicit QQuickStateSyncer(QObject *parent = nullptr);
    ~QQuickStateSyncer() override;

    QString host() const;
    void setHost(const QString &host);
    int port() const;
    void setPort(int port);
    bool isRunning() const;
    void setRunning(bool running);
    bool isListening() const;
    int serverPort() const;
    QUrl url() const;
    QUrl certificateFile() const;
    void setCertificateFile(const QUrl &file);
    QUrl keyFile() const;
    void setKeyFile(const QUrl &file);
    qint64 maxMessageSize() const;
    void setMaxMessageSize(qint64 bytes);
    int maxNestingDepth() const;
    void setMaxNestingDepth(int depth);
    QString errorString() const;
    int clientCount() const;
    QStringList stateIdentifiers() const;
    QQmlListProperty<QQuickStateSyncState> states();
    QStateSyncStorage *storage() const;
    void setStorage(QStateSyncStorage *storage);
    QStateSyncer *syncer() const;

    Q_INVOKABLE QString createState(const QVariantMap &options);
    Q_INVOKABLE bool removeState(const QString &stateIdentifier);
    Q_INVOKABLE void removeAllStates();
    Q_INVOKABLE bool hasState(const QString &stateIdentifier) const;
    Q_INVOKABLE QVariant valueOfState(const QString &stateIdentifier) const;
    Q_INVOKABLE qint64 versionOfState(const QString &stateIdentifier) const;
    Q_INVOKABLE QStringList clientsOfState(const QString &stateIdentifier) const;
    Q_INVOKABLE QVariantList presenceOfState(const QString &stateIdentifier) const;
    Q_INVOKABLE bool updateStateValue(const QString &stateIdentifier, const QVariantMap &updates,
                                      const QVariantMap &clientInformation = QVariantMap());
    Q_INVOKABLE bool appendToState(const QString &stateIdentifier, const QVariantMap &appends,
                                   const QVariantMap &clientInformation = QVariantMap());

    void classBegin() override;
    void componentComplete() override;

Q_SIGNALS:
    void authorizationRequested(QStateSyncAuthorizationRequest *request);
    void joinRequested(QStateSyncJoinRequest *request);
    void updateRequested(QStateSyncUpdateRequest *request);
    void httpRequested(QStateSyncHttpRequest *request);
    void stateCreated(const QString &stateIdentifier);
    void stateRemoved(const QString &stateIdentifier, QStateSync::RemovalReason reason);
    void clientJoined(const QString &stateIdentifier, const QString &clientIdentifier,
                      const QVariantMap &clientInformation);
    void clientLeft(const QString &stateIdentifier, const QString &clientIdentifier,
                    const QVariantMap &clientInformation);
    void stateUpdated(const QString &stateIdentifier, const QVariantMap &updates, qint64 version);

    void hostChanged();
    void portChanged();
    void runningChanged();
    void listeningChanged();
    void certificateFileChanged();
    void keyFileChanged();
    void maxMessageSizeChanged();
    void maxNestingDepthChanged();
    void errorStringChanged();
    void clientCountChanged();
    void stateIdentifiersChanged();
    void storageChanged();

protected:
    void connectNotify(const QMetaMethod &signal) override;

private:
    static void appendState(QQmlListProperty<QQuickStateSyncState> *list,
                            QQuickStateSyncState *state);
    static qsizetype stateCount(QQmlListProperty<QQuickStateSyncState> *list);
    static QQuickStateSyncState *stateAt(QQmlListProperty<QQuickStateSyncState> *list,
                                         qsizetype index);
    void updateListening();
    void setErrorString(const QString &errorString);

    QStateSyncer m_syncer;
    QList<QQuickStateSyncState *> m_states;
    QString m_host;
    int m_port = 0;
    bool m_running = false;
    bool m_complete = false;
    QPointer<QStateSyncStorage> m_storage;
    void applyStorage();
    QUrl m_certificateFile;
    QUrl m_keyFile;
    QString m_errorString;
    bool m_forwardsAuthorization = false;
    bool m_forwardsJoin = false;
    bool m_forwardsUpdate = false;
    bool m_forwardsHttp = false;
};

#endif // QQUICKSTATESYNCER_P_H
