import { MEMBERSHIP_TIERS, type MembershipTier, TIERS } from '@hybrid-coach/shared/tiers';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { ApiError, api, call, messageOf } from '../api/client';
import { publicPricingUrl } from '../api/config';
import { meQuery } from '../shared/queries';
import { Pending } from '../shared/query';
import { Alert, Button, ConfirmDialog, EmptyState } from '../ui';
import {
  type Appointment,
  AppointmentRow,
  appointmentsQuery,
  CancelledByCoach,
  formatDay,
  formatDayTime,
  formatTime,
  MissedAppointments,
  useNow,
  viewerTimeZone,
} from './appointments';
import './booking.css';

/** How many days one page of free slots covers, and how many pages ahead a client may look. */
const DAYS_PER_PAGE = 14;
const LAST_PAGE = 3;
const DAY_MS = 86_400_000;

/** Free slots of every coach taking bookings, `page` two-week spans from now. */
const loadSlots = (page: number) =>
  call(
    api.api.coaches.slots.$get({
      query: { days: String(DAYS_PER_PAGE), ...(page > 0 ? { from: new Date(Date.now() + page * DAYS_PER_PAGE * DAY_MS).toISOString() } : {}) },
    }),
  );
type CoachSlots = Awaited<ReturnType<typeof loadSlots>>[number];
type Coach = CoachSlots['coach'];

const byTime = (a: Appointment, b: Appointment) => a.scheduledFor.localeCompare(b.scheduledFor);

/** The slots of one coach by local day (the viewer's), in order. */
function byDay(slots: string[]): { day: string; slots: string[] }[] {
  const days = new Map<string, string[]>();
  for (const slot of slots) {
    const d = new Date(slot);
    const key = `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
    days.set(key, [...(days.get(key) ?? []), slot]);
  }
  return [...days.values()].map((s) => ({ day: formatDay(s[0]!), slots: s }));
}

/**
 * "Book a human coach": PREMIUM clients see the coaches' free 30-minute slots, two weeks at a time in
 * their own time zone (named), book one after a confirmation, and keep their upcoming appointments (join
 * when the room is open, move to another free time of the same coach in one step, download the calendar
 * file, cancel). Other plans get the way to Premium and no slot request.
 */
export function BookingPage() {
  const me = useQuery(meQuery);
  if (me.data === undefined) return <Pending query={me} label="Loading…" what="the booking page" />;
  return (
    <div className="hc-stack">
      <h1>Book a human coach</h1>
      {TIERS[me.data.tier].limits.humanCoachAccess ? <PremiumBooking /> : <PremiumOnly tier={me.data.tier} />}
    </div>
  );
}

/** What a client without human-coach access sees (also if the server says so: the tier changed). */
function PremiumOnly({ tier }: { tier: MembershipTier | undefined }) {
  return (
    <section className="hc-card hc-stack hc-medium" aria-labelledby="premium-only-title" data-testid="premium-only">
      <h2 id="premium-only-title">Human coaches come with Premium</h2>
      <p>
        On Premium you can book 30-minute voice sessions with one of our coaches, who joins you and your AI coach in the call.
        {tier && ` Your ${TIERS[tier].name} plan includes AI coaching only.`}
      </p>
      <p>
        <a href={publicPricingUrl}>See the plans and upgrade to Premium</a>
      </p>
    </section>
  );
}

/** News of the last booking or cancellation, shown where it happened. */
type Notice = { where: 'appointments' | 'slots'; tone: 'info' | 'error'; title: string; text: string };

function PremiumBooking() {
  const now = useNow();
  const queries = useQueryClient();
  const appointments = useQuery(appointmentsQuery);
  const [page, setPage] = useState(0);
  const slots = useQuery({ queryKey: ['slots', page], queryFn: () => loadSlots(page) });
  // Read again from scratch (the spinner, then the answer), as when the page opened.
  const reloadSlots = () => void queries.resetQueries({ queryKey: ['slots'] });
  const reloadAppointments = () => void queries.resetQueries({ queryKey: appointmentsQuery.queryKey, exact: true });
  const me = useQuery(meQuery).data;
  const [pending, setPending] = useState<{ coach: Coach; slot: string } | null>(null);
  /** The appointment being moved: the free times are then its coach's, and choosing one moves it. */
  const [moving, setMoving] = useState<Appointment | null>(null);
  const [booking, setBooking] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const noticeRef = useRef<HTMLDivElement>(null);
  // The button that opened the dialog may be gone (its slot booked): keyboard users continue at the news.
  useEffect(() => {
    if (notice) noticeRef.current?.focus();
  }, [notice]);

  /** Another two weeks: a page of its own (its own query key), loaded when first shown. */
  const goTo = setPage;

  /** The emails say times in the client's zone: a client who never chose one gets this browser's. */
  async function rememberZone() {
    if (!me || me.timeZoneConfirmed) return;
    const updated = await call(api.api.users.me.$patch({ json: { timeZone: viewerTimeZone() } })).catch(() => undefined);
    if (updated) queries.setQueryData(meQuery.queryKey, updated);
  }

  async function move() {
    if (!pending || !moving) return;
    const { slot } = pending;
    const from = moving.scheduledFor;
    setBooking(true);
    try {
      await rememberZone();
      const moved = await call(api.api.appointments[':id'].reschedule.$post({ param: { id: moving.id }, json: { scheduledFor: slot } }));
      queries.setQueryData(appointmentsQuery.queryKey, (list) => list?.map((x) => (x.id === moved.id ? moved : x)).sort(byTime));
      setNotice({
        where: 'appointments',
        tone: 'info',
        title: 'Moved',
        text: `Your appointment with ${moved.coach.displayName} moved from ${formatDayTime(from)} to ${formatDayTime(moved.scheduledFor)}.`,
      });
      setMoving(null);
    } catch (err) {
      // Taken meanwhile: the appointment keeps its time; show what is free now.
      const conflict = err instanceof ApiError && (err.code === 'CONFLICT' || err.code === 'VALIDATION_ERROR');
      const text = conflict ? `${err.message.replace(/\.$/, '')}. The free times below are up to date.` : messageOf(err);
      setNotice({ where: 'slots', tone: 'error', title: 'We could not move it to that time', text });
    } finally {
      reloadSlots();
      reloadAppointments();
      setBooking(false);
      setPending(null);
    }
  }

  async function book() {
    if (!pending) return;
    const { coach, slot } = pending;
    setBooking(true);
    try {
      await rememberZone();
      const booked = await call(api.api.appointments.$post({ json: { coachId: coach.id, scheduledFor: slot } }));
      queries.setQueryData(appointmentsQuery.queryKey, (list) => list && [...list, booked].sort(byTime));
      queries.setQueryData(['slots', page], (offers: CoachSlots[] | undefined) =>
        offers?.map((c) => (c.coach.id === coach.id ? { ...c, slots: c.slots.filter((s) => s !== slot) } : c)),
      );
      setNotice({ where: 'slots', tone: 'info', title: 'Booked', text: `${coach.displayName}, ${formatDayTime(slot)}. It is under “Your appointments”.` });
    } catch (err) {
      // Taken meanwhile, or the client has another appointment then: say so and show what is free now.
      const conflict = err instanceof ApiError && (err.code === 'CONFLICT' || err.code === 'VALIDATION_ERROR');
      const text = conflict ? `${err.message.replace(/\.$/, '')}. The free times below are up to date.` : messageOf(err);
      setNotice({ where: 'slots', tone: 'error', title: 'We could not book that time', text });
      if (conflict) {
        reloadSlots();
        reloadAppointments();
      }
    } finally {
      setBooking(false);
      setPending(null);
    }
  }

  function startMove(a: Appointment) {
    setMoving(a);
    setNotice(null);
    // The chooser is the free times below, narrowed to this coach.
    requestAnimationFrame(() => document.getElementById('slots-title')?.scrollIntoView({ block: 'start' }));
  }

  function cancelled(a: Appointment) {
    queries.setQueryData(appointmentsQuery.queryKey, (list) => list?.filter((x) => x.id !== a.id));
    setNotice({
      where: 'appointments',
      tone: 'info',
      title: 'Cancelled',
      text: `Your appointment with ${a.coach.displayName}, ${formatDayTime(a.scheduledFor)}, is cancelled.`,
    });
    // Its time is free again.
    reloadSlots();
  }

  // The plan changed since the page loaded: the server refuses the slots, so explain as for any other plan.
  const refusal = slots.isError && slots.error instanceof ApiError && slots.error.code === 'TIER_LIMIT_REACHED' ? slots.error : null;
  if (refusal) {
    const tier = MEMBERSHIP_TIERS.find((t) => t === refusal.details.tier);
    return <PremiumOnly tier={tier} />;
  }
  const from = page * DAYS_PER_PAGE * DAY_MS + now;
  const range = `${formatDay(new Date(from).toISOString())} – ${formatDay(new Date(from + (DAYS_PER_PAGE - 1) * DAY_MS).toISOString())}`;

  const noticeView = notice && (
    <div ref={noticeRef} tabIndex={-1} className="hc-notice" data-testid="booking-notice" data-tone={notice.tone}>
      <Alert tone={notice.tone} title={notice.title}>
        <p>{notice.text}</p>
      </Alert>
    </div>
  );

  return (
    <>
      <p className="hc-muted">Thirty minutes with one of our coaches, in a voice call your AI coach joins too.</p>
      <section className="hc-card hc-stack" aria-labelledby="appointments-title" data-testid="appointments">
        <h2 id="appointments-title">Your appointments</h2>
        <p className="hc-muted hc-small">Times in your time zone, {viewerTimeZone()}.</p>
        <CancelledByCoach />
        <MissedAppointments />
        {notice?.where === 'appointments' && noticeView}
        {appointments.data === undefined ? (
          <Pending query={appointments} label="Loading your appointments…" what="your appointments" />
        ) : appointments.data.length === 0 ? (
          <p className="hc-muted">Nothing booked yet. Choose a free time below.</p>
        ) : (
          <ul className="hc-list" aria-label="Your appointments">
            {appointments.data.map((a) => (
              <AppointmentRow key={a.id} appointment={a} now={now} onCancelled={cancelled} onMove={startMove} />
            ))}
          </ul>
        )}
      </section>
      <section className="hc-card hc-stack" aria-labelledby="slots-title" data-testid="free-slots">
        <div className="hc-row hc-row-between">
          <h2 id="slots-title">{moving ? `Move your appointment with ${moving.coach.displayName}` : 'Free times'}</h2>
          <nav className="hc-row" aria-label="Which two weeks">
            <Button variant="secondary" onClick={() => goTo(page - 1)} disabled={page === 0}>
              Earlier
            </Button>
            <Button variant="secondary" onClick={() => goTo(page + 1)} disabled={page === LAST_PAGE}>
              Later
            </Button>
          </nav>
        </div>
        <p className="hc-muted" data-testid="slots-range">
          {range}. Times are shown in your time zone, <strong data-testid="time-zone">{viewerTimeZone()}</strong>.
        </p>
        {moving && (
          <div className="hc-row hc-row-between" data-testid="moving">
            <p>
              Now <time dateTime={moving.scheduledFor}>{formatDayTime(moving.scheduledFor)}</time>. Choose a new time below: it moves in one step, and keeps its
              time if the new one is taken meanwhile.
            </p>
            <Button variant="secondary" onClick={() => setMoving(null)}>
              Keep it as it is
            </Button>
          </div>
        )}
        {notice?.where === 'slots' && noticeView}
        {slots.data === undefined ? (
          <Pending query={slots} label="Finding free times…" what="the free times" />
        ) : slots.data.length === 0 ? (
          <EmptyState title={page === 0 ? 'No free slots in the next two weeks' : 'No free slots in these two weeks'}>
            <p>{page < LAST_PAGE ? 'Try later dates, or come back soon: coaches add times every week.' : 'Come back soon: coaches add times every week.'}</p>
          </EmptyState>
        ) : (
          slots.data
            .filter((c) => !moving || c.coach.id === moving.coach.id)
            .map((c) => (
              <CoachSlotList key={c.coach.id} offer={c} action={moving ? 'Move here' : 'Book'} onChoose={(slot) => setPending({ coach: c.coach, slot })} />
            ))
        )}
      </section>
      <ConfirmDialog
        open={pending !== null}
        title={moving ? 'Move your appointment to this time?' : 'Book this time?'}
        confirmLabel={moving ? 'Move it' : 'Book it'}
        cancelLabel="Choose another time"
        busy={booking}
        onConfirm={() => void (moving ? move() : book())}
        onClose={() => setPending(null)}
      >
        {pending && (
          <p data-testid="booking-confirm">
            30 minutes with {pending.coach.displayName}, <time dateTime={pending.slot}>{formatDayTime(pending.slot)}</time> ({viewerTimeZone()}).
          </p>
        )}
      </ConfirmDialog>
    </>
  );
}

/** One coach's free slots, by day, each with its "Book" (or "Move here") button. */
function CoachSlotList({ offer, action, onChoose }: { offer: CoachSlots; action: 'Book' | 'Move here'; onChoose: (slot: string) => void }) {
  const titleId = `coach-${offer.coach.id}`;
  return (
    <article className="hc-stack" aria-labelledby={titleId} data-testid="coach-slots" data-coach-id={offer.coach.id}>
      <h3 id={titleId}>{offer.coach.displayName}</h3>
      {byDay(offer.slots).map(({ day, slots }) => (
        <div key={day} className="hc-slot-day">
          <h4>{day}</h4>
          <ul className="hc-slots" aria-label={`${offer.coach.displayName}, ${day}`}>
            {slots.map((slot) => (
              <li key={slot} className="hc-slot" data-testid="slot" data-slot={slot}>
                <time dateTime={slot}>{formatTime(slot)}</time>
                <Button
                  variant="secondary"
                  onClick={() => onChoose(slot)}
                  aria-label={`${action} ${formatTime(slot)}, ${day}, with ${offer.coach.displayName}`}
                >
                  {action}
                </Button>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </article>
  );
}
