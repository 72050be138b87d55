import { type ApprovalDeps, ApprovalWebhook, type Logger } from "@copilot-audit/gateway";
import { type AuditWriter, openApprovals, type Store } from "@copilot-audit/store";
import { type AppConfig, ConfigError } from "./config.js";

export interface GatewayApprovals {
  deps: ApprovalDeps;
  close(): Promise<void>;
}

/**
 * Just-in-time approvals for `start` when approval groups are configured: the store's repository with its
 * in-memory view (LISTEN/NOTIFY on PostgreSQL, polling on PGlite), the policy, default lifetimes and the
 * optional webhook. Null when no group needs approval.
 */
export async function startApprovals(
  config: AppConfig,
  store: Store,
  writer: AuditWriter,
  log: Logger,
): Promise<GatewayApprovals | null> {
  if (config.approvalGroups.length === 0) return null;
  if (config.approverGroups.length === 0)
    log.warn(
      { approvalGroups: config.approvalGroups },
      "approvals: no --approver-group: nobody can decide through the API; operators decide with `copilot-audit approvals` against the database",
    );
  const webhook = config.approvalWebhook
    ? new ApprovalWebhook({
        url: config.approvalWebhook,
        logger: log.child({ component: "approval-webhook" }),
        source: config.instanceName,
      })
    : null;
  const approvals = await openApprovals({
    store,
    writer,
    databaseUrl: config.databaseUrl,
    systemActor: `gateway:${config.instanceName}`,
    logger: log.child({ component: "approvals" }),
    onEvent(e) {
      log.info(
        { event: e.event, request: e.request.id, subject: e.request.subject, actor: e.actor.name },
        `approval ${e.event}`,
      );
      webhook?.notify(e);
    },
  }).catch((err: Error & { code?: string }) => {
    if (err.code === "42P01")
      throw new ConfigError(
        `approvals need the database schema of migrations/0003_approvals.sql (${err.message}): run \`copilot-audit migrate\` or start without --no-migrate`,
      );
    throw err;
  });
  log.info(
    {
      approvalGroups: config.approvalGroups,
      approverGroups: config.approverGroups,
      ttlSeconds: config.approvalTtl,
      refresh: approvals.status().mode,
      webhook: webhook !== null,
    },
    "just-in-time approvals on",
  );
  return {
    deps: {
      approvals,
      policy: {
        allowGroups: config.allowGroups,
        approvalGroups: config.approvalGroups,
        approverGroups: config.approverGroups,
      },
      ttlSeconds: config.approvalTtl,
      ttlByGroup: config.approvalTtlByGroup,
    },
    async close() {
      webhook?.close();
      await approvals.close();
    },
  };
}
