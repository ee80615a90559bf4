# The data netbot's integration tests expect, written into a Redmine 5 by
#   bin/rails runner seed.rb      (RAILS_ENV=production; NETBOT_SEED_INFO=where to write)
# Used by scripts/redmine/up.sh for both the Debian-package and the container Redmine.
# One Rails boot does everything (each boot costs seconds): migrate if needed, load Redmine's
# default data (trackers, statuses, roles, workflows) if missing, then create the test data
# by name, so running it twice changes nothing. Finally it writes the info JSON the tests read
# (ids, logins, passwords and API keys).
require 'json'

started = Time.now
# Jobs (mail) run inline: the default async adapter opens a second SQLite connection in a
# thread, which can fail with "database is locked".
ActiveJob::Base.queue_adapter = :inline

ActiveRecord::Migration.verbose = false
migrations = ActiveRecord::MigrationContext.new(
  Rails.application.paths['db/migrate'].to_a, ActiveRecord::SchemaMigration
)
if migrations.needs_migration?
  migrations.migrate
  # Models were loaded before their tables existed: forget the cached (empty) columns.
  ActiveRecord::Base.descendants.each(&:reset_column_information)
end
Redmine::DefaultData::Loader.load('en') if Redmine::DefaultData::Loader.no_data?
if ActiveRecord::Base.connection.adapter_name =~ /sqlite/i
  ActiveRecord::Base.connection.execute('PRAGMA journal_mode=WAL') # readers never wait
end

{
  'rest_api_enabled' => '1',
  'login_required' => '1',          # anonymous requests get 401, as in production
  'issue_group_assignment' => '1',  # the ops-team group can be an issue's assignee
  'text_formatting' => 'common_mark',
  'default_language' => 'en',
  'host_name' => 'localhost',
  'protocol' => 'http',
}.each { |name, value| Setting[name] = value }
Setting.notified_events = [] # no mail at all

def password_of(login)
  "#{login}-password"
end

def user(login, firstname, lastname, admin: false, locked: false)
  account = User.find_by_login(login) || User.new.tap { |u| u.login = login }
  account.firstname = firstname
  account.lastname = lastname
  account.mail = "#{login}@example.test"
  account.language = 'en'
  account.admin = admin
  account.status = locked ? User::STATUS_LOCKED : User::STATUS_ACTIVE
  unless account.persisted? && account.check_password?(password_of(login))
    account.password = account.password_confirmation = password_of(login)
  end
  account.must_change_passwd = false # the packaged admin must change it on first login
  account.save!
  account
end

admin = user('admin', 'Redmine', 'Admin', admin: true)
alice = user('alice', 'Alice', 'Anders')
bob = user('bob', 'Bob', 'Berg')
carol = user('carol', 'Carol', 'Outsider') # a member of nothing
dave = user('dave', 'Dave', 'Locked', locked: true)

team = Group.named('ops-team').first || Group.create!(lastname: 'ops-team')
([alice, bob] - team.users.to_a).each { |member| team.users << member }

def issue_field(name, format, **attributes)
  field = IssueCustomField.find_by(name: name) || IssueCustomField.new(name: name)
  field.assign_attributes(field_format: format, is_for_all: true, is_filter: true, # cf_N=
                          searchable: format == 'string', visible: true, editable: true,
                          **attributes)
  field.trackers = Tracker.all.to_a
  field.save!
  field
end
thread_field = issue_field('discord-thread', 'string')
sync_field = issue_field('discord-sync', 'bool', default_value: '0')

project = Project.find_by(identifier: 'ops') || Project.new(identifier: 'ops')
project.assign_attributes(name: 'Ops', description: 'Seeded project for integration tests',
                          is_public: false)
project.trackers = Tracker.sorted.to_a
project.enabled_module_names = %w[issue_tracking time_tracking wiki files]
project.save!

def member(project, principal, role_name)
  return if Member.exists?(project_id: project.id, user_id: principal.id)

  Member.new(project: project, principal: principal,
             role_ids: [Role.find_by!(name: role_name).id]).save!
end
member(project, team, 'Developer') # alice and bob through the group
member(project, bob, 'Manager')

status = IssueStatus.all.index_by(&:name)
priority = IssuePriority.all.index_by(&:name)
tracker = Tracker.all.index_by(&:name)

# An issue with its notes (each note by its own author, optionally changing fields) and a
# final status change by the author. Created once: an issue with this subject is left alone.
def issue(project, subject, author:, tracker:, priority:, assignee: nil, fields: {}, notes: [],
          final_status: nil)
  return if project.issues.exists?(subject: subject)

  Issue.transaction do
    created = Issue.new(project: project, author: author, tracker: tracker, priority: priority,
                        subject: subject, description: "Seeded issue: #{subject}",
                        assigned_to: assignee)
    created.custom_field_values = fields
    created.save!
    changes = notes.map { |who, text, attributes| [who, text, attributes || {}] }
    changes << [author, '', { status: final_status }] if final_status
    changes.each do |who, text, attributes|
      current = Issue.find(created.id) # a fresh object: init_journal is memoized
      current.init_journal(who, text)
      current.assign_attributes(attributes)
      current.save!
    end
  end
end

issue(project, 'Disk full on db-1', author: alice, tracker: tracker['Bug'],
      priority: priority['Urgent'], assignee: bob,
      fields: { thread_field.id => '1180000000000000001', sync_field.id => '1' },
      notes: [[alice, 'Seen at 03:00, /var is at 100%.'],
              [bob, 'Looking into it.', { status: status['In Progress'] }]])
issue(project, 'Rotate TLS certificates', author: bob, tracker: tracker['Feature'],
      priority: priority['Normal'], assignee: alice, fields: { sync_field.id => '0' },
      notes: [[bob, 'Certificates expire next month.']])
issue(project, 'VPN flapping', author: admin, tracker: tracker['Support'],
      priority: priority['High'], assignee: team,
      fields: { thread_field.id => '1180000000000000003', sync_field.id => '1' },
      notes: [[admin, 'Reported by two users.'], [alice, 'Reproduced from office network.']],
      final_status: status['Resolved'])
issue(project, 'Old backup job', author: bob, tracker: tracker['Bug'], priority: priority['Low'],
      notes: [[bob, 'Obsolete, closing.']], final_status: status['Closed'])

def by_name(records, name = :name)
  records.to_a.to_h { |record| [record.public_send(name), record.id] }
end

users = [admin, alice, bob, carol, dave].to_h do |account|
  account.reload
  [account.login, { 'id' => account.id, 'login' => account.login, 'admin' => account.admin?,
                    'active' => account.active?, 'password' => password_of(account.login),
                    'api_key' => account.api_key }] # api_key creates the token once
end
info = {
  'redmine_version' => Redmine::VERSION.to_s,
  'users' => users,
  'group' => { 'id' => team.id, 'name' => team.lastname },
  'project' => { 'id' => project.id, 'identifier' => project.identifier },
  'trackers' => by_name(Tracker.sorted),
  'statuses' => by_name(IssueStatus.sorted),
  'priorities' => by_name(IssuePriority.all),
  'custom_fields' => by_name([thread_field, sync_field]),
  'issues' => by_name(project.issues.order(:id), :subject),
}
File.write(ENV.fetch('NETBOT_SEED_INFO'), "#{JSON.pretty_generate(info)}\n")
if ActiveRecord::Base.connection.adapter_name =~ /sqlite/i
  # Everything into the main file: up.sh snapshots that file alone.
  ActiveRecord::Base.connection.execute('PRAGMA wal_checkpoint(TRUNCATE)')
end
puts "seed: #{Issue.count} issues, #{Journal.count} journals in #{(Time.now - started).round(1)}s"
