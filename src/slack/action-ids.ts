/** Names shared by the renderer (which puts them on buttons) and the listeners (which match them). */
export const ACTION = {
  itemDone: 'item.done',
  itemSkip: 'item.skip',
  itemNotApplicable: 'item.na',
  itemDetails: 'item.details',
  itemReopen: 'item.reopen',
  itemWithdraw: 'item.withdraw',
  phaseDetails: 'phase.details',
  /** The overflow menu on a check row: value `rerun|override|details` + `|<deployment>|<item>`. */
  checkMenu: 'check.menu',
  checkRerun: 'check.rerun',
  checkOverride: 'check.override',
  trafficShift: 'traffic.shift',
  escalationAcknowledge: 'escalation.ack',
  /** On a fired trigger's message: let the held traffic shifts go ahead, with a reason. The value is the
   * stored action id of this rollback trigger button (on messages already posted), kept for compatibility. */
  triggerOverride: 'guard.override',
  deploymentRollback: 'deployment.rollback',
  deploymentPause: 'deployment.pause',
  deploymentResume: 'deployment.resume',
  deploymentAbort: 'deployment.abort',
  /** On the report: opens the Retrospective modal. */
  reportRetrospective: 'report.retrospective',
} as const;

export const VIEW = {
  skipItem: 'item.skip.modal',
  overrideCheck: 'check.override.modal',
  rollback: 'deployment.rollback.modal',
  /** Stored callback id of the rollback trigger override modal (from when triggers were called guards), kept. */
  overrideTrigger: 'guard.override.modal',
  confirmTraffic: 'traffic.confirm.modal',
  abortDeployment: 'deployment.abort.modal',
  retrospective: 'report.retrospective.modal',
} as const;

/** Block and action ids inside modals, for reading `view.state.values`. */
export const FIELD = {
  reasonBlock: 'reason',
  reasonInput: 'reason.input',
  /** Retrospective: severity counts, user impact, and one block per question (`retro.q.<question id>`). */
  retroCritical: 'retro.critical',
  retroMajor: 'retro.major',
  retroMinor: 'retro.minor',
  retroUserImpact: 'retro.user-impact',
  retroQuestionPrefix: 'retro.q.',
  retroInput: 'value',
} as const;
