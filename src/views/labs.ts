/**
 * What the Labs view shows: labs with their progress, and their steps with status (locked,
 * current, done, failed check). Lab files that did not load show as problem rows naming file,
 * step and problem; the others are listed as usual.
 */
import { formatProblem, type Lab, type LabProblem, type LabProgress, type LabStatus } from '../labs';
import { contextValue } from './contextValue';
import { CommandId } from './ids';
import type { NodeIcon, ViewNode } from './node';
import type { TreeRoots } from './states';

export interface LabsViewInput {
  labs: Lab[];
  problems: LabProblem[];
  status(labId: string): LabStatus;
  progress(labId: string): LabProgress;
}

const STEP_ICONS: Record<string, NodeIcon> = {
  locked: { id: 'lock', color: 'disabledForeground' },
  current: { id: 'arrow-circle-right', color: 'charts.blue' },
  done: { id: 'pass-filled', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
};

const LAB_ICONS: Record<LabStatus, NodeIcon> = {
  locked: { id: 'lock', color: 'disabledForeground' },
  'not-started': { id: 'beaker' },
  'in-progress': { id: 'play-circle', color: 'charts.blue' },
  done: { id: 'pass-filled', color: 'testing.iconPassed' },
};

export function labsRoots(input: LabsViewInput): TreeRoots {
  const problems: ViewNode[] = input.problems.map((p, i) => ({
    id: `problem/${i}/${p.file}`,
    label: `${p.file} did not load`,
    description: formatProblem(p),
    tooltip: `${formatProblem(p)}\n\nThe other labs are not affected; fix the file and reload the window.`,
    icon: { id: 'warning', color: 'problemsWarningIcon.foreground' },
    contextValue: contextValue('lab-problem'),
  }));
  if (input.labs.length === 0 && problems.length === 0) return { state: 'empty', label: 'No labs in this workspace', why: 'labs/*.md files are listed here' };
  const labs = [...input.labs].sort((a, b) => a.order - b.order || a.title.localeCompare(b.title));
  return [...labs.map((lab) => labNode(lab, input)), ...problems];
}

function labNode(lab: Lab, input: LabsViewInput): ViewNode {
  const status = input.status(lab.id);
  const progress = input.progress(lab.id);
  const done = lab.steps.filter((s) => progress.steps[s.id]?.status === 'done').length;
  const missing = status === 'locked' ? lab.prerequisites.filter((id) => input.status(id) !== 'done') : [];
  const title = (id: string) => input.labs.find((l) => l.id === id)?.title ?? id;
  return {
    id: `lab/${lab.id}`,
    label: lab.title,
    description: [`${done}/${lab.steps.length}`, `${lab.duration} min`, lab.optional ? 'optional' : '', status === 'locked' ? `after ${missing.map(title).join(', ')}` : ''].filter(Boolean).join(' · '),
    tooltip: `${lab.title}${lab.summary ? `\n${lab.summary}` : ''}\n${done} of ${lab.steps.length} steps done · about ${lab.duration} minutes${lab.optional ? ' · optional' : ''}`,
    icon: LAB_ICONS[status],
    contextValue: contextValue('lab', status, { optional: lab.optional }),
    target: { kind: 'lab', labId: lab.id },
    collapsed: status !== 'in-progress',
    children: lab.steps.map((step, i) => {
      const sp = progress.steps[step.id];
      const stepStatus = sp?.status ?? 'locked';
      return {
        id: `lab/${lab.id}/step/${step.id}`,
        label: `${i + 1}. ${step.title}`,
        description: stepStatus === 'failed' && sp?.lastCheck ? sp.lastCheck.summary : stepStatus === 'current' ? 'current step' : undefined,
        tooltip: sp?.lastCheck ? `Last check (${sp.lastCheck.at}): ${sp.lastCheck.ok ? 'passed' : 'not yet'} — ${sp.lastCheck.summary}` : undefined,
        icon: STEP_ICONS[stepStatus],
        contextValue: contextValue('step', stepStatus),
        target: { kind: 'step', labId: lab.id, stepId: step.id },
        command: { command: CommandId.openLabStep, title: 'Open Step', arguments: [lab.id, step.id] },
      };
    }),
  };
}
