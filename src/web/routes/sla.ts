import { Router, type Request, type Response } from 'express';
import type { Database } from '../../db/client.js';
import { WEEKDAYS } from '../../domain/business-hours.js';
import { formatDuration, formatSpans } from '../../domain/sla-format.js';
import { timeZones } from '../../domain/time-zones.js';
import type { ServiceContext } from '../../services/context.js';
import { ConflictError, NotFoundError, ValidationError } from '../../services/errors.js';
import { assertCan, can } from '../../services/policy.js';
import { calendarFrom } from '../../services/sla/policies.js';
import {
  addHoliday,
  createCalendar,
  createPolicy,
  getCalendar,
  getPolicy,
  listSlaSettings,
  removeHoliday,
  updateCalendar,
  updatePolicy,
} from '../../services/sla/manage.js';
import { actorOf } from '../middleware/auth.js';
import { timeZoneOf } from '../middleware/locals.js';
import { doneIn, withDone } from '../confirmations.js';
import { fieldErrors, id, version } from '../schemas/common.js';
import { CalendarForm, HolidayForm, PolicyForm, RemoveHolidayForm, TARGET_FIELDS, WEEKDAY_LABEL } from '../schemas/sla.js';
import { when } from '../presenters/time.js';

type Body = Record<string, unknown>;
type Failed = { message: string; errors: Record<string, string>; values: Body; status: number };

/** SLA policies and business calendars: staff read them (the ticket page explains clocks by them), admins manage them. */
export function slaRoutes(db: Database): Router {
  const router = Router();
  const ctx = (req: Request): ServiceContext => ({ db: db.prisma, actor: actorOf(req) });
  const pathId = (req: Request, what: string): number => {
    const parsed = id.safeParse(req.params.id);
    if (!parsed.success) throw new NotFoundError(`No such ${what}.`);
    return parsed.data;
  };
  const shared = { weekdays: WEEKDAYS, weekdayLabel: WEEKDAY_LABEL, targetFields: TARGET_FIELDS, formatDuration, formatSpans };

  router.get('/', async (req, res) => {
    const c = ctx(req);
    const settings = await listSlaSettings(c);
    res.render('sla/list', { title: 'SLAs', ...settings, ...shared, manage: can(c.actor, 'sla.manage'), done: doneIn(req, 'top') });
  });

  // --- Calendars -------------------------------------------------------------------------------

  const calendarValues = (c: { name: string; timeZone: string; hours: unknown }): Body => {
    const cal = calendarFrom({ timeZone: c.timeZone, hours: c.hours, holidays: [] });
    return { name: c.name, timeZone: c.timeZone, ...Object.fromEntries(WEEKDAYS.map((d) => [`hours${d}`, formatSpans(cal.hours[d])])) };
  };

  const renderNewCalendar = (res: Response, failed: Failed | null) =>
    res.status(failed?.status ?? 200).render('sla/calendar-new', {
      title: 'New calendar',
      ...shared,
      zones: timeZones(),
      values: failed?.values ?? { timeZone: 'UTC', hours1: '08:00-18:00', hours2: '08:00-18:00', hours3: '08:00-18:00', hours4: '08:00-18:00', hours5: '08:00-18:00' },
      errors: failed?.errors ?? {},
      message: failed?.message ?? null,
    });

  router.get('/calendars/new', (req, res) => {
    assertCan(actorOf(req), 'sla.manage');
    renderNewCalendar(res, null);
  });

  router.post('/calendars', async (req, res) => {
    assertCan(actorOf(req), 'sla.manage');
    const body = (req.body ?? {}) as Body;
    const form = CalendarForm.safeParse(body);
    if (!form.success) return renderNewCalendar(res, { status: 422, values: body, errors: fieldErrors(form.error), message: 'Please check the fields marked below.' });
    try {
      const cal = await createCalendar(ctx(req), form.data);
      res.redirect(303, withDone(`/sla/calendars/${cal.id}`, 'sla-calendar-saved'));
    } catch (err) {
      if (err instanceof ValidationError) return renderNewCalendar(res, { status: 422, values: body, errors: err.fieldErrors, message: err.message });
      throw err;
    }
  });

  async function renderCalendar(req: Request, res: Response, failed: (Failed & { form: string }) | null = null) {
    const c = ctx(req);
    const { calendar, history } = await getCalendar(c, pathId(req, 'calendar'));
    const tz = timeZoneOf(res);
    res.status(failed?.status ?? 200).render('sla/calendar', {
      title: calendar.name,
      ...shared,
      calendar,
      zones: timeZones(),
      manage: can(c.actor, 'sla.manage'),
      values: failed?.form === 'calendar' ? failed.values : { ...calendarValues(calendar), version: calendar.version },
      holidayValues: failed?.form === 'holiday' ? failed.values : {},
      errors: failed?.errors ?? {},
      failed,
      history: history.map((h) => ({ ...h, at: when(h.createdAt, tz) })),
      done: failed ? null : doneIn(req, 'top'),
    });
  }

  router.get('/calendars/:id', (req, res) => renderCalendar(req, res));

  router.post('/calendars/:id', async (req, res) => {
    assertCan(actorOf(req), 'sla.manage');
    const body = (req.body ?? {}) as Body;
    const form = CalendarForm.safeParse(body);
    const v = version.safeParse(body.version);
    if (!form.success || !v.success) {
      const errors = { ...(form.success ? {} : fieldErrors(form.error)), ...(v.success ? {} : { version: 'Reload the page.' }) };
      return renderCalendar(req, res, { form: 'calendar', status: 422, values: body, errors, message: 'Please check the fields marked below.' });
    }
    try {
      await updateCalendar(ctx(req), pathId(req, 'calendar'), v.data, form.data);
    } catch (err) {
      if (err instanceof ValidationError) return renderCalendar(req, res, { form: 'calendar', status: 422, values: body, errors: err.fieldErrors, message: err.message });
      if (err instanceof ConflictError) return renderCalendar(req, res, { form: 'calendar', status: 409, values: body, errors: {}, message: err.message });
      throw err;
    }
    res.redirect(303, withDone(`/sla/calendars/${pathId(req, 'calendar')}`, 'sla-calendar-saved'));
  });

  router.post('/calendars/:id/holidays', async (req, res) => {
    assertCan(actorOf(req), 'sla.manage');
    const body = (req.body ?? {}) as Body;
    const form = HolidayForm.safeParse(body);
    try {
      if (!form.success) throw new ValidationError('Please check the fields marked below.', fieldErrors(form.error));
      await addHoliday(ctx(req), pathId(req, 'calendar'), { date: form.data.date, name: form.data.holidayName });
    } catch (err) {
      if (err instanceof ValidationError) return renderCalendar(req, res, { form: 'holiday', status: 422, values: body, errors: err.fieldErrors, message: err.message });
      throw err;
    }
    res.redirect(303, withDone(`/sla/calendars/${pathId(req, 'calendar')}`, 'sla-holiday-added'));
  });

  router.post('/calendars/:id/holidays/remove', async (req, res) => {
    assertCan(actorOf(req), 'sla.manage');
    const form = RemoveHolidayForm.safeParse(req.body ?? {});
    if (!form.success) throw new NotFoundError('That holiday does not exist.');
    await removeHoliday(ctx(req), pathId(req, 'calendar'), form.data.holidayId);
    res.redirect(303, withDone(`/sla/calendars/${pathId(req, 'calendar')}`, 'sla-holiday-removed'));
  });

  // --- Policies --------------------------------------------------------------------------------

  async function policyChoices(c: ServiceContext) {
    const [calendars, teams, organizations] = await Promise.all([
      c.db.businessCalendar.findMany({ orderBy: { name: 'asc' }, select: { id: true, name: true } }),
      c.db.team.findMany({ orderBy: { name: 'asc' }, select: { id: true, name: true } }),
      c.db.organization.findMany({ orderBy: { name: 'asc' }, select: { id: true, name: true }, take: 500 }),
    ]);
    return { calendars, teams, organizations };
  }

  const policyValues = (p: Awaited<ReturnType<typeof getPolicy>>['policy']): Body => ({
    name: p.name,
    position: p.position,
    isDefault: p.isDefault ? 'on' : '',
    active: p.active ? 'on' : '',
    calendarId: p.calendarId ?? '',
    matchUrgencies: p.matchUrgencies,
    matchChannels: p.matchChannels,
    matchTeamId: p.matchTeamId ?? '',
    matchOrganizationId: p.matchOrganizationId ?? '',
    warnPercent: p.warnPercent,
    escalateUrgency: p.escalateUrgency ? 'on' : '',
    escalateToLead: p.escalateToLead ? 'on' : '',
    version: p.version,
    ...Object.fromEntries(
      p.targets.flatMap((t) => [
        [`first-${t.urgency}`, formatDuration(t.firstResponseMinutes)],
        [`next-${t.urgency}`, formatDuration(t.nextResponseMinutes)],
        [`resolution-${t.urgency}`, formatDuration(t.resolutionMinutes)],
      ]),
    ),
  });

  const renderNewPolicy = async (req: Request, res: Response, failed: Failed | null) =>
    res.status(failed?.status ?? 200).render('sla/policy-new', {
      title: 'New SLA policy',
      ...shared,
      ...(await policyChoices(ctx(req))),
      values: failed?.values ?? { active: 'on', warnPercent: 75, position: 0 },
      errors: failed?.errors ?? {},
      message: failed?.message ?? null,
    });

  router.get('/policies/new', async (req, res) => {
    assertCan(actorOf(req), 'sla.manage');
    await renderNewPolicy(req, res, null);
  });

  router.post('/policies', async (req, res) => {
    assertCan(actorOf(req), 'sla.manage');
    const body = (req.body ?? {}) as Body;
    const form = PolicyForm.safeParse(body);
    if (!form.success) return renderNewPolicy(req, res, { status: 422, values: body, errors: fieldErrors(form.error), message: 'Please check the fields marked below.' });
    try {
      const p = await createPolicy(ctx(req), form.data);
      res.redirect(303, withDone(`/sla/policies/${p.id}`, 'sla-policy-saved'));
    } catch (err) {
      if (err instanceof ValidationError) return renderNewPolicy(req, res, { status: 422, values: body, errors: err.fieldErrors, message: err.message });
      throw err;
    }
  });

  async function renderPolicy(req: Request, res: Response, failed: Failed | null = null) {
    const c = ctx(req);
    const { policy, history } = await getPolicy(c, pathId(req, 'policy'));
    const tz = timeZoneOf(res);
    res.status(failed?.status ?? 200).render('sla/policy', {
      title: policy.name,
      ...shared,
      ...(await policyChoices(c)),
      policy,
      manage: can(c.actor, 'sla.manage'),
      values: failed?.values ?? policyValues(policy),
      errors: failed?.errors ?? {},
      message: failed?.message ?? null,
      history: history.map((h) => ({ ...h, at: when(h.createdAt, tz) })),
      done: failed ? null : doneIn(req, 'top'),
    });
  }

  router.get('/policies/:id', (req, res) => renderPolicy(req, res));

  router.post('/policies/:id', async (req, res) => {
    assertCan(actorOf(req), 'sla.manage');
    const body = (req.body ?? {}) as Body;
    const form = PolicyForm.safeParse(body);
    const v = version.safeParse(body.version);
    if (!form.success || !v.success) {
      const errors = { ...(form.success ? {} : fieldErrors(form.error)), ...(v.success ? {} : { version: 'Reload the page.' }) };
      return renderPolicy(req, res, { status: 422, values: body, errors, message: 'Please check the fields marked below.' });
    }
    try {
      await updatePolicy(ctx(req), pathId(req, 'policy'), v.data, form.data);
    } catch (err) {
      if (err instanceof ValidationError) return renderPolicy(req, res, { status: 422, values: body, errors: err.fieldErrors, message: err.message });
      if (err instanceof ConflictError) return renderPolicy(req, res, { status: 409, values: body, errors: {}, message: err.message });
      throw err;
    }
    res.redirect(303, withDone(`/sla/policies/${pathId(req, 'policy')}`, 'sla-policy-saved'));
  });

  return router;
}
